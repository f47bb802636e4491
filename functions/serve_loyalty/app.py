"""HTTP API of loyalty (IAM): balance and tier, paginated history, redemption with an Idempotency-Key."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core import loyalty
from crm_core.errors import CrmError
from crm_core.http.errors import as_invalid_body, problem, unsupported_media_type
from crm_core.loyalty.api import RedemptionRequest, answer, error_answer, validation_answer
from crm_core.observability import count, get_logger, get_metrics

app = APIGatewayHttpResolver(enable_validation=True)
logger, metrics = get_logger(), get_metrics()


@app.get("/contacts/<contact_id>/loyalty")
def show(contact_id: str) -> dict[str, Any]:
    return loyalty.summary(contact_id).to_json()


@app.get("/contacts/<contact_id>/loyalty/history")
def history(
    contact_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    return loyalty.history(contact_id, limit=limit, cursor=cursor).to_json()


@app.post("/contacts/<contact_id>/loyalty/redemptions")
def redeem(
    contact_id: str, request: RedemptionRequest, key: Annotated[str, Header(alias="idempotency-key")] = ""
) -> Response[str]:
    done = loyalty.redeem(contact_id, key, request.points, order_id=request.order_id)
    body = {"redemption_id": key, "points": -done.points, "balance": done.balance_after}
    return answer(201, body, {"Idempotent-Replayed": "true"} if done.replay else None)


@app.exception_handler(CrmError)  # type: ignore[untyped-decorator]
def domain_error(exc: CrmError) -> Response[str]:
    return answer(*error_answer(exc))


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def invalid_request(exc: RequestValidationError) -> Response[str]:
    return answer(*validation_answer(exc.errors()))


@app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
def unsupported_body(exc: RequestUnsupportedContentType) -> Response[str]:
    found = unsupported_media_type("application/json")
    return answer(found.status, found.body(), found.headers)


@app.exception_handler(ValueError)  # type: ignore[untyped-decorator]
def unreadable_body(exc: ValueError) -> Response[str]:  # e.g. bytes that are not UTF-8 JSON
    found = problem(as_invalid_body(exc))
    return answer(found.status, found.body(), found.headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    count("LoyaltyApiRequests")
    return app.resolve(event, context)
