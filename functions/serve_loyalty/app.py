"""HTTP API of loyalty (IAM): balance and tier, paginated history, redemption with an Idempotency-Key."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core import loyalty
from crm_core.http.router import HttpRouter, Response
from crm_core.loyalty import api
from crm_core.loyalty.api import RedemptionRequest, answer, answer_errors
from crm_core.observability import lambda_entry

app = HttpRouter()  # inputs are checked by crm_core.loyalty.api: no pydantic at cold start


@app.get("/contacts/<contact_id>/loyalty")
def get_loyalty_summary(contact_id: str) -> dict[str, Any]:
    return loyalty.summary(contact_id).to_json()


@app.get(
    "/contacts/<contact_id>/loyalty/history",
    responses=api.HISTORY_RESPONSES,
    openapi_extensions=api.HISTORY_DOC,
)
def history(contact_id: str) -> dict[str, Any]:
    limit, cursor = api.history_query(app.current_event.query_string_parameters)
    return loyalty.history(contact_id, limit=limit, cursor=cursor).to_json()


@app.post(
    "/contacts/<contact_id>/loyalty/redemptions",
    responses=api.REDEMPTION_RESPONSES,
    openapi_extensions=api.REDEMPTION_DOC,
)
def redeem(contact_id: str) -> Response[str]:
    request = RedemptionRequest.from_body(app.current_event.json_body)
    key = api.header(app.current_event.headers, "Idempotency-Key")
    done = loyalty.redeem(contact_id, key, request.points, order_id=request.order_id)
    body = {"redemption_id": key, "points": -done.points, "balance": done.balance_after}
    return answer(201, body, {"Idempotent-Replayed": "true"} if done.replay else None)


answer_errors(app)  # domain errors, invalid or unreadable requests: the one error shape


@lambda_entry(correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
