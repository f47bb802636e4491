"""HTTP API of loyalty (IAM): balance and tier, paginated history, redemption with an Idempotency-Key."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core import loyalty
from crm_core.loyalty.api import RedemptionRequest, answer, answer_errors
from crm_core.observability import lambda_entry

app = APIGatewayHttpResolver(enable_validation=True)


@app.get("/contacts/<contact_id>/loyalty")
def get_loyalty_summary(contact_id: str) -> dict[str, Any]:
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


answer_errors(app)  # domain errors, invalid or unreadable requests: the one error shape


@lambda_entry(correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
