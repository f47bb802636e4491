"""The data-rights API (IAM-authorized): ask for a person's export or erasure, read a request's status."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.http.answer import answer_every_error
from crm_core.http.router import HttpRouter, Response
from crm_core.observability import lambda_entry
from crm_core.privacy import api, jobs

app = HttpRouter()


def _accepted(kind: str, contact_id: str) -> Response[Any]:
    key = app.current_event.headers.get("idempotency-key")
    answer, _ = jobs.request(kind, contact_id, key)
    return Response(202, "application/json", jobs.as_json(answer), headers={"Location": answer["status_url"]})


@app.post("/contacts/<contact_id>/export", **api.EXPORT)
def export(contact_id: str) -> Response[Any]:
    return _accepted(jobs.EXPORT, contact_id)


@app.post("/contacts/<contact_id>/erasure", **api.ERASURE)
def erasure(contact_id: str) -> Response[Any]:
    return _accepted(jobs.ERASURE, contact_id)


@app.get("/privacy-requests/<request_id>", **api.STATUS)
def request_status(request_id: str) -> dict[str, Any]:
    return jobs.status(request_id)


answer_every_error(app, "privacy API failed")


@lambda_entry(correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
