"""Signed-link pages: GET shows (changes nothing), POST acts. /unsubscribe unsubscribes, including RFC 8058
one-click (crm_core.campaigns.unsubscribe); /consent confirms a marketing consent, double opt-in
(crm_core.contacts.consent)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from crm_core.campaigns import unsubscribe
from crm_core.contacts import consent
from crm_core.http.answer import HttpAnswer
from crm_core.http.router import HttpRouter, Response
from crm_core.observability import lambda_entry

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

app = HttpRouter()
HTML: Any = {"text/html": {"schema": {"type": "string"}}}
PAGES: dict[int, Any] = {
    200: {"description": "An HTML page in the contact's language", "content": HTML},
    400: {"description": "The token is missing, forged, altered or expired (HTML page)", "content": HTML},
}
Action = Callable[[str | None, str | None], HttpAnswer]
ROUTES: list[tuple[str, str, str, Action]] = [
    ("GET", "/unsubscribe", "Ask to confirm an unsubscribe (changes nothing)", unsubscribe.confirmation_page),
    ("POST", "/unsubscribe", "Unsubscribe from marketing (page button or RFC 8058 one-click)",
     unsubscribe.unsubscribe),
    ("GET", "/consent", "Ask the address owner to confirm a marketing consent (changes nothing)",
     consent.confirmation_page),
    ("POST", "/consent", "Confirm a marketing consent (double opt-in) from the mailed link", consent.confirm),
]  # fmt: skip


def _page_route(action: Action) -> Callable[[], Response[str]]:
    def serve_page() -> Response[str]:
        event = app.current_event
        language = (event.headers or {}).get("accept-language")
        return action(event.get_query_string_value("token"), language).response()

    serve_page.__name__ = (
        f"{action.__module__.rsplit('.', 1)[-1]}_{action.__name__}"  # the OpenAPI operation id
    )
    return serve_page


for method, path, summary, action in ROUTES:
    app.route(path, method, summary=summary, tags=[path.strip("/")], responses=PAGES)(_page_route(action))


@lambda_entry(correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
