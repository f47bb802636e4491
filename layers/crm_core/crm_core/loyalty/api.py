"""The HTTP API's request model and its one mapping from typed errors to answers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from pydantic import BaseModel, ConfigDict, Field

from crm_core.errors import CrmError
from crm_core.http.errors import as_invalid_body, field_errors, problem, unsupported_media_type
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


def answer_errors(app: APIGatewayHttpResolver) -> None:
    """Answer every failure of the resolver's routes in the one error shape (crm_core.http): domain
    errors, request validation (400), a body of another type (415) or not readable as JSON (400)."""
    from aws_lambda_powertools.event_handler.openapi.exceptions import (  # noqa: PLC0415 - the event handler's OpenAPI code only in HTTP functions
        RequestUnsupportedContentType,
        RequestValidationError,
    )

    @app.exception_handler(CrmError)  # type: ignore[untyped-decorator]
    def _domain(exc: CrmError) -> Response[str]:
        return answer(*error_answer(exc))

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(exc: RequestValidationError) -> Response[str]:
        return answer(*validation_answer(exc.errors()))

    @app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
    def _unsupported(exc: RequestUnsupportedContentType) -> Response[str]:
        found = unsupported_media_type("application/json")
        return answer(found.status, found.body(), found.headers)

    @app.exception_handler(ValueError)  # type: ignore[untyped-decorator]
    def _unreadable(exc: ValueError) -> Response[str]:  # e.g. bytes that are not UTF-8 JSON
        found = problem(as_invalid_body(exc))
        return answer(found.status, found.body(), found.headers)
