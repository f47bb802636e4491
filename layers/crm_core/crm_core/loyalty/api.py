"""The HTTP API's request model and its one mapping from typed errors to answers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel, ConfigDict, Field

from crm_core.errors import Conflict, CrmError, NotFound, RetryableError, ValidationFailed
from crm_core.observability import get_logger


class RedemptionRequest(BaseModel):
    """Body of `POST /contacts/{contact_id}/loyalty/redemptions`."""

    model_config = ConfigDict(extra="forbid")

    points: Annotated[int, Field(strict=True, gt=0, le=10_000_000, description="Points to spend")]
    order_id: Annotated[str | None, Field(max_length=128, description="The order the points pay for")] = None


def answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    """A JSON response."""
    return Response(status, "application/json", json.dumps(body), headers=headers or None)


def error_answer(exc: CrmError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, JSON body, headers) for a typed error: 400, 404, 409, 503; anything else is a 500."""
    if isinstance(exc, ValidationFailed):
        return 400, {"errors": [{"field": e.field, "message": e.message} for e in exc.errors]}, {}
    if isinstance(exc, NotFound):
        return 404, {"message": str(exc)}, {}
    if isinstance(exc, Conflict):
        return 409, {"message": str(exc), **getattr(exc, "details", {})}, {}
    if isinstance(exc, RetryableError):
        return 503, {"message": "busy, try again"}, {"Retry-After": "1"}
    get_logger().exception("unexpected domain error")
    return 500, {"message": "internal error"}, {}


def validation_answer(errors: Sequence[Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Powertools request validation errors as our 400 with one entry per field."""
    fields = []
    for err in errors:
        location = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "header", "path")]
        fields.append({"field": ".".join(location) or "body", "message": str(err.get("msg", "invalid"))})
    return 400, {"errors": fields}, {}
