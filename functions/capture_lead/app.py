"""POST /leads: web forms and JSON clients record or merge a contact (crm_core.leads does the work)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from crm_core.errors import CrmError
from crm_core.http.router import HttpRouter, Response
from crm_core.leads import web
from crm_core.observability import lambda_entry

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

app = HttpRouter()


def _request() -> web.Request:
    event = app.current_event
    headers = {name.lower(): value for name, value in (event.headers or {}).items()}
    return web.Request(body=event.body, is_base64=bool(event.is_base64_encoded), headers=headers)


@app.post(
    "/leads",
    summary="Record or merge a contact from a web form",
    tags=["leads"],
    responses=web.OPENAPI_RESPONSES,
    openapi_extensions=web.OPENAPI_REQUEST_BODY,
)
def post_lead() -> Response[str]:
    return web.post_lead(_request()).response()


@app.exception_handler(CrmError)
def answer_lead_error(exc: CrmError) -> Response[str]:
    return web.error_answer(exc, _request()).response()


@lambda_entry(correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
