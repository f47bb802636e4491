"""What the contacts API shares with its handler: the 201 answer of a create, the one error shape."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from crm_core.http.answer import answer_every_error
from crm_core.http.router import HttpRouter, Response

if TYPE_CHECKING:
    from crm_core.owners.service import Created

BAD_INPUT = (ValueError, TypeError)  # a body that is not a JSON object is bad input too


def created(done: Created) -> Response[str]:
    """201 with the created (or replayed: `Idempotent-Replayed: true`) resource."""
    headers = {"Idempotent-Replayed": "true"} if done.replay else None
    return Response(201, "application/json", json.dumps(done.task), headers=headers)


def router() -> HttpRouter:
    """The contacts API's router, answering every failure in the one error shape."""
    app = HttpRouter()
    answer_every_error(app, "contacts API failed", bad_body=BAD_INPUT)
    return app


def query(app: HttpRouter) -> dict[str, str]:
    """The current request's query parameters."""
    return dict(app.current_event.query_string_parameters or {})


def body(app: HttpRouter) -> dict[str, Any]:
    """The current request's JSON object; ValueError/TypeError (so 400 on `body`) when it is not one."""
    return dict(app.current_event.json_body)
