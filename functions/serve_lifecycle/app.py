"""HTTP API of the relationship lifecycle (IAM): stage, since, history with reasons, value, segment."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core import lifecycle
from crm_core.http import params
from crm_core.http.router import HttpRouter
from crm_core.loyalty.api import answer_errors
from crm_core.observability import lambda_entry

app = HttpRouter()  # the id is checked by crm_core.http.params: no pydantic at cold start


@app.get("/contacts/<contact_id>/lifecycle")
def get_lifecycle(contact_id: str) -> dict[str, Any]:
    return lifecycle.view(params.contact_id(contact_id))  # type: ignore[no-any-return]


answer_errors(app)  # unknown contact 404, malformed id 400: the one error shape


@lambda_entry(correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
