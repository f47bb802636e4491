"""The HTTP API's request model and its one mapping from typed errors to answers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel, ConfigDict, Field

from crm_core.errors import CrmError
from crm_core.http.errors import field_errors, problem
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
    """(status, JSON body, headers) for a typed error, by the project's one mapping (crm_core.http)."""
    found = problem(exc)
    if found.status == 500:
        get_logger().exception("unexpected domain error")
    return found.status, found.body(), found.headers


def validation_answer(errors: Sequence[Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Powertools request validation errors as our 400 with one entry per field."""
    found = field_errors(list(errors))
    return found.status, found.body(), found.headers
