"""HTTP API of the relationship lifecycle (IAM): stage, since, history with reasons, value, segment."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core import lifecycle
from crm_core.loyalty.api import answer_errors
from crm_core.observability import count, lambda_entry

app = APIGatewayHttpResolver(enable_validation=True)


@app.get("/contacts/<contact_id>/lifecycle")
def get_lifecycle(contact_id: Annotated[str, Path(pattern=r"^ct_[a-z2-7]{26}$")]) -> dict[str, Any]:
    return lifecycle.view(contact_id)  # type: ignore[no-any-return]


answer_errors(app)  # unknown contact 404, malformed id 400: the one error shape


@lambda_entry(correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    count("LifecycleApiRequests")
    return app.resolve(event, context)
