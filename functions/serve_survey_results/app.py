"""Survey results for the business (IAM-authorized): sent, answered, response rate, CSAT or NPS, by group."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.http.answer import answer_every_error
from crm_core.http.router import HttpRouter
from crm_core.observability import lambda_entry
from crm_core.surveys import results

app = HttpRouter()


@app.get(
    "/surveys/results", summary="Survey results over days of sending, optionally by locale, team or tier"
)
def survey_results() -> dict[str, Any]:
    query = app.current_event.query_string_parameters or {}
    return results.results(query.get("survey"), query.get("from"), query.get("to"), query.get("group_by"))


answer_every_error(app, "survey results failed")


@lambda_entry(correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
