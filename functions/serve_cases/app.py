"""The case API for agents' tools (IAM-authorized): read, list, change status, reply to the customer."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.cases import service
from crm_core.http.answer import answer_every_error
from crm_core.http.router import HttpRouter
from crm_core.observability import lambda_entry

app = HttpRouter()
BAD_INPUT = (ValueError, TypeError)  # a body that is not a JSON object is bad input too


@app.get("/cases/<case_id>")
def get_case(case_id: str) -> dict[str, Any]:
    return service.get_case(case_id)


@app.get("/cases")
def list_cases() -> dict[str, Any]:
    query = app.current_event.query_string_parameters or {}
    overdue = query.get("overdue", "").lower() in {"1", "true", "yes"}
    return service.list_cases(query.get("status") or None, overdue=overdue)


@app.post("/cases/<case_id>/status")
def change_status(case_id: str) -> dict[str, Any]:
    body = dict(app.current_event.json_body)  # no body, or not a JSON object: 400
    return service.change_status(case_id, str(body.get("status")), by=body.get("by"), note=body.get("note"))


@app.post("/cases/<case_id>/replies")
def reply(case_id: str) -> dict[str, Any]:
    body, key = dict(app.current_event.json_body), app.current_event.headers.get("idempotency-key")
    text, agent, status = str(body.get("text", "")), body.get("agent"), body.get("status")
    return service.reply(case_id, text, agent=agent, reply_key=key, status=status)


answer_every_error(app, "case API failed", bad_body=BAD_INPUT)


@lambda_entry(correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
