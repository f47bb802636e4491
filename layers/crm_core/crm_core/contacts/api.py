"""What the contacts API shares with its handler: the 201 answer of a create, the one error shape."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from crm_core.http.errors import as_invalid_body, problem
from crm_core.http.router import HttpRouter, Response
from crm_core.observability import get_logger

if TYPE_CHECKING:
    from crm_core.owners.service import Created

BAD_INPUT = (ValueError, TypeError)  # a body that is not a JSON object is bad input too


def created(done: Created) -> Response[str]:
    """201 with the created (or replayed: `Idempotent-Replayed: true`) resource."""
    headers = {"Idempotent-Replayed": "true"} if done.replay else None
    return Response(201, "application/json", json.dumps(done.task), headers=headers)


def answer_errors(app: HttpRouter) -> None:
    """Every failure of the app's routes in the one error shape (crm_core.http.errors)."""

    @app.exception_handler(Exception)
    def _errors(exc: Exception) -> Response[Any]:
        found = problem(exc) if not isinstance(exc, BAD_INPUT) else problem(as_invalid_body(exc))
        if found.status == 500:
            get_logger().exception("contacts API failed")
        return Response(found.status, "application/json", found.json(), headers=found.headers or None)


def router() -> HttpRouter:
    """The contacts API's router, answering every failure in the one error shape."""
    app = HttpRouter()
    answer_errors(app)
    return app


def query(app: HttpRouter) -> dict[str, str]:
    """The current request's query parameters."""
    return dict(app.current_event.query_string_parameters or {})


def body(app: HttpRouter) -> dict[str, Any]:
    """The current request's JSON object; ValueError/TypeError (so 400 on `body`) when it is not one."""
    return dict(app.current_event.json_body)
