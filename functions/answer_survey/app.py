"""The survey page a score link opens: GET shows the question with the score preselected (changes
nothing: mail scanners follow links), POST records the answer (crm_core.surveys.answers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.logging import correlation_paths

from crm_core.http.forms import form_text
from crm_core.http.router import HttpRouter, Response
from crm_core.observability import lambda_entry
from crm_core.surveys import answers

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

app = HttpRouter()
HTML: Any = {"text/html": {"schema": {"type": "string"}}}
PAGES: dict[int, Any] = {
    200: {"description": "The survey or thank-you page, in the contact's language", "content": HTML},
    400: {"description": "A forged or altered link, or a score off the scale (HTML page)", "content": HTML},
    410: {"description": "The link has expired: a polite page says the survey is closed", "content": HTML},
}  # fmt: skip
MAX_FORM_BYTES = 16_384


@app.get("/surveys/answer", summary="Show a survey question, the linked score preselected", responses=PAGES)
def show_survey() -> Response[str]:
    event = app.current_event
    language = (event.headers or {}).get("accept-language")
    token, score = event.get_query_string_value("token"), event.get_query_string_value("score")
    return answers.page(token, score, language).response()


@app.post("/surveys/answer", summary="Record a survey answer (score and optional comment)", responses=PAGES)
def answer_survey() -> Response[str]:
    event = app.current_event
    text = form_text(event.body, bool(event.is_base64_encoded), MAX_FORM_BYTES)
    form = dict(parse_qsl(text, keep_blank_values=True))
    language = (event.headers or {}).get("accept-language")
    return answers.submit(event.get_query_string_value("token"), form, language).response()


@lambda_entry(correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
