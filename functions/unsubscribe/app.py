"""GET /unsubscribe shows a confirmation (changes nothing); POST unsubscribes, including RFC 8058
one-click from mail clients (crm_core.campaigns.unsubscribe does the work and the pages)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths

from crm_core.campaigns import unsubscribe
from crm_core.observability import get_logger, get_metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = get_logger()
metrics = get_metrics()
app = APIGatewayHttpResolver()
HTML: Any = {"text/html": {"schema": {"type": "string"}}}
PAGES: dict[int, Any] = {
    200: {"description": "An HTML page in the contact's language", "content": HTML},
    400: {"description": "The token is missing, forged or altered (HTML page)", "content": HTML},
}


def _answer(page: unsubscribe.Page) -> Response[str]:
    return Response(page.status, page.headers["Content-Type"], page.html, headers=page.headers)


def _token_and_language() -> tuple[str | None, str | None]:
    event = app.current_event
    return event.get_query_string_value("token"), (event.headers or {}).get("accept-language")


@app.get(
    "/unsubscribe",
    summary="Ask to confirm an unsubscribe (changes nothing)",
    tags=["unsubscribe"],
    responses=PAGES,
)
def confirm() -> Response[str]:
    return _answer(unsubscribe.confirmation_page(*_token_and_language()))


@app.post(
    "/unsubscribe",
    summary="Unsubscribe from marketing (page button or RFC 8058 one-click)",
    tags=["unsubscribe"],
    responses=PAGES,
)
def act() -> Response[str]:
    return _answer(unsubscribe.unsubscribe(*_token_and_language()))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
