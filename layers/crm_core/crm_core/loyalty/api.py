"""The loyalty HTTP API's requests, read by hand, and its one mapping from typed errors to answers.

No request validation by Powertools: its validating resolver imports pydantic and builds models on
the first request (about half of the function's cold start). The few inputs are checked here, each
bad one a 400 naming its field; the OpenAPI document describes them from the dictionaries below.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crm_core.checks import Problems
from crm_core.errors import CrmError, FieldError, ValidationFailed
from crm_core.http.errors import as_invalid_body, errors_schema, problem
from crm_core.http.router import HttpRouter, Response

MAX_REDEMPTION = 10_000_000
MAX_ORDER_ID = 128
HISTORY_LIMIT, MAX_HISTORY_LIMIT = 20, 100


@dataclass(frozen=True, slots=True)
class RedemptionRequest:
    """Body of `POST /contacts/{contact_id}/loyalty/redemptions`."""

    points: int
    order_id: str | None = None

    @classmethod
    def from_body(cls, body: object) -> RedemptionRequest:
        """The request from the parsed JSON body; raises ValidationFailed naming every bad field."""
        if not isinstance(body, Mapping):
            raise ValidationFailed([FieldError("body", "must be a JSON object")])
        p = Problems()
        p.unknown_keys("", body, {"points", "order_id"}, message="Extra inputs are not permitted")
        points = p.integer("points", body.get("points"), low=1, high=MAX_REDEMPTION)
        order_id = body.get("order_id")
        if order_id is not None and (not isinstance(order_id, str) or len(order_id) > MAX_ORDER_ID):
            p.add("order_id", f"must be a string of at most {MAX_ORDER_ID} characters")
        p.raise_invalid()
        return cls(points, order_id)


def history_query(query: Mapping[str, str] | None) -> tuple[int, str | None]:
    """(limit, cursor) of a history request; raises ValidationFailed for a limit out of 1-100."""
    query = query or {}
    raw = query.get("limit")
    limit = HISTORY_LIMIT if raw is None else int(raw) if raw.strip().isdigit() else 0
    if not 1 <= limit <= MAX_HISTORY_LIMIT:
        raise ValidationFailed([FieldError("limit", f"must be a whole number from 1 to {MAX_HISTORY_LIMIT}")])
    return limit, query.get("cursor") or None


def header(headers: Mapping[str, str] | None, name: str) -> str:
    """A request header's value by its case-insensitive name ("" when absent)."""
    wanted = name.lower()
    return next((value for key, value in (headers or {}).items() if key.lower() == wanted), "")


def answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    """A JSON response."""
    return Response(status, "application/json", json.dumps(body), headers=headers or None)


def error_answer(exc: CrmError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, JSON body, headers) for a typed error, by the project's one mapping (crm_core.http)."""
    found = problem(exc)
    if found.status == 500:
        from crm_core.observability import get_logger  # noqa: PLC0415 - logging only on an error

        get_logger().exception("unexpected domain error")
    return found.status, found.body(), found.headers


def answer_errors(app: HttpRouter) -> None:
    """Answer every failure of the router's routes in the one error shape (crm_core.http): domain
    errors (invalid input 400, 404, 409, 503) and a body not readable as JSON (400)."""

    @app.exception_handler(CrmError)
    def _domain(exc: CrmError) -> Response[str]:
        return answer(*error_answer(exc))

    @app.exception_handler(ValueError)
    def _unreadable(exc: ValueError) -> Response[str]:  # e.g. bytes that are not UTF-8 JSON
        found = problem(as_invalid_body(exc))
        return answer(found.status, found.body(), found.headers)


# -- the OpenAPI description of what the routes read by hand (infra/openapi.py merges it) ----------

_ERRORS = errors_schema()


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or _ERRORS}}}


HISTORY_DOC: dict[str, Any] = {
    "x-crm-parameters": [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_HISTORY_LIMIT,
                "default": HISTORY_LIMIT,
            },
        },
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
    ]
}
HISTORY_RESPONSES: dict[int, Any] = {
    200: _json("A page of ledger entries, newest first, with `next_cursor`.", {"type": "object"}),
    400: _json("A limit out of 1-100 or a cursor that is not ours."),
    404: _json("The contact does not exist."),
}
REDEMPTION_DOC: dict[str, Any] = {
    "x-crm-parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": True,
            "description": "Names the redemption: the same key again replays the answer.",
            "schema": {"type": "string", "maxLength": 128},
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["points"],
                    "properties": {
                        "points": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_REDEMPTION,
                            "description": "Points to spend",
                        },
                        "order_id": {
                            "type": "string",
                            "maxLength": MAX_ORDER_ID,
                            "description": "The order the points pay for",
                        },
                    },
                }
            }
        },
    },
}
REDEMPTION_RESPONSES: dict[int, Any] = {
    201: _json("Points spent (`Idempotent-Replayed: true` on a replay).", {"type": "object"}),
    400: _json("Invalid fields, each named (points, order_id, Idempotency-Key)."),
    404: _json("The contact does not exist."),
    409: _json(
        "The balance is short (with `requested` and `available`), or the key was used for another order."
    ),
    503: _json("DynamoDB is throttling: nothing was spent; retry after `Retry-After` seconds."),
}
