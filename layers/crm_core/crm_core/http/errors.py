"""One mapping from typed domain errors to HTTP answers, for every API of the project.

Every error answer has one body shape, `{"errors": [{"field", "message"}]}` (the lead form's), with
`field` empty when the problem is not one input's; a conflict may add its details beside `errors`
(e.g. the balance a redemption found). A 503 always carries `Retry-After`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from crm_core.errors import (
    Conflict,
    CrmError,
    FieldError,
    InvalidToken,
    NotFound,
    RetryableError,
    ValidationFailed,
)

RETRY_AFTER_SECONDS = 2
BUSY = "the service is busy; nothing was changed, please try again"


@dataclass(frozen=True)
class Problem:
    """A status, the field errors to report, headers to add, and details beside `errors`."""

    status: int
    errors: list[FieldError]
    headers: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The JSON body: `{"errors": [...]}` plus any details."""
        return {"errors": [{"field": e.field, "message": e.message} for e in self.errors], **self.details}

    def json(self) -> str:
        """The error body as JSON text, non-ASCII letters kept."""
        return json.dumps(self.body(), ensure_ascii=False)


def problem(exc: BaseException, *, conflict_field: str = "", busy: str = BUSY) -> Problem:
    """The answer to an error: 400 invalid input or token, 404, 409, 503 (with Retry-After), else 500
    (never with the exception's text: it may hold internals)."""
    if isinstance(exc, ValidationFailed):
        return Problem(400, list(exc.errors))
    if isinstance(exc, InvalidToken):
        return Problem(400, [FieldError("token", "is not valid: use the link from your email")])
    if isinstance(exc, NotFound):
        return Problem(404, [FieldError("", str(exc))])
    if isinstance(exc, Conflict):
        where = str(getattr(exc, "field", conflict_field))
        return Problem(409, [FieldError(where, str(exc))], details=dict(getattr(exc, "details", {})))
    if isinstance(exc, RetryableError):
        return Problem(503, [FieldError("", busy)], {"Retry-After": str(RETRY_AFTER_SECONDS)})
    return Problem(500, [FieldError("", "internal error")])


def as_invalid_body(exc: Exception) -> ValidationFailed:
    """A body that could not be read as the JSON object a route expects, as a 400 on `body`."""
    if isinstance(exc, ValidationFailed):
        return exc
    return ValidationFailed([FieldError("body", "must be a JSON object")])


def unsupported_media_type(*accepted: str) -> Problem:
    """415 for a body of a type the route does not read, naming what it accepts."""
    wanted = ", ".join(accepted)
    return Problem(415, [FieldError("body", f"must be sent as {wanted}")], {"Accept-Post": wanted})


__all__ = [
    "BUSY",
    "RETRY_AFTER_SECONDS",
    "CrmError",
    "Problem",
    "as_invalid_body",
    "problem",
    "unsupported_media_type",
]


def errors_schema(**extra: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI schema of the one error body, `{"errors": [{"field", "message"}]}`, with any `extra`
    properties an API adds to each error (the lead form's worded `text`)."""
    item = {"field": {"type": "string"}, "message": {"type": "string"}, **extra}
    return {
        "type": "object",
        "required": ["errors"],
        "properties": {
            "errors": {
                "type": "array",
                "items": {"type": "object", "required": ["field", "message"], "properties": item},
            }
        },
    }
