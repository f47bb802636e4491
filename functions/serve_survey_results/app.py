"""Survey results for the business (IAM-authorized): sent, answered, response rate, CSAT or NPS, by group."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.http.errors import problem
from crm_core.observability import get_logger, get_metrics
from crm_core.surveys import results

logger, metrics = get_logger(), get_metrics()
app = APIGatewayHttpResolver()


@app.get(
    "/surveys/results", summary="Survey results over days of sending, optionally by locale, team or tier"
)
def survey_results() -> dict[str, Any]:
    query = app.current_event.query_string_parameters or {}
    return results.results(query.get("survey"), query.get("from"), query.get("to"), query.get("group_by"))


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def _errors(exc: Exception) -> Response[Any]:
    found = problem(exc)
    if found.status == 500:
        logger.exception("survey results failed")
    return Response(found.status, "application/json", found.json(), headers=found.headers or None)


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
