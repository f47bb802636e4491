"""The contacts API for staff tools (IAM): the contact 360, lookup by address, owner, tasks and notes."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.contacts import view
from crm_core.http.errors import as_invalid_body, problem
from crm_core.observability import get_logger, get_metrics
from crm_core.owners import service

logger, metrics = get_logger(), get_metrics()
app = APIGatewayHttpResolver()
BAD_INPUT = (ValueError, TypeError)  # a body that is not a JSON object is bad input too


def _query() -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


def _body() -> dict[str, Any]:
    return dict(app.current_event.json_body)  # no body, or not a JSON object: 400


def _key() -> str | None:
    return app.current_event.headers.get("idempotency-key")


def _created(done: service.Created) -> Response[str]:
    headers = {"Idempotent-Replayed": "true"} if done.replay else None
    return Response(201, "application/json", json.dumps(done.task), headers=headers)


@app.get("/contacts/<contact_id>")
def show(contact_id: str) -> dict[str, Any]:
    return view.contact_360(contact_id, _query())


@app.get("/contacts")
def find() -> dict[str, Any]:
    query = _query()
    return view.contact_360(view.find_by_email(query.get("email", "")), query)


@app.put("/contacts/<contact_id>/owner")
def set_owner(contact_id: str) -> dict[str, Any]:
    body = _body()
    return service.set_owner(contact_id, body.get("owner"), by=body.get("by"))


@app.post("/contacts/<contact_id>/tasks")
def create_task(contact_id: str) -> Response[str]:
    return _created(service.create_task(contact_id, _body(), _key()))


@app.get("/contacts/<contact_id>/tasks")
def list_tasks(contact_id: str) -> dict[str, Any]:
    return service.list_tasks(contact_id, _query().get("status") or None)


@app.post("/contacts/<contact_id>/tasks/<task_id>/complete")
def complete_task(contact_id: str, task_id: str) -> dict[str, Any]:
    return service.complete_task(contact_id, task_id)


@app.post("/contacts/<contact_id>/tasks/<task_id>/snooze")
def snooze_task(contact_id: str, task_id: str) -> dict[str, Any]:
    return service.snooze_task(contact_id, task_id, _body().get("until"))


@app.post("/contacts/<contact_id>/notes")
def add_note(contact_id: str) -> Response[str]:
    return _created(service.add_note(contact_id, _body(), _key()))


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def _errors(exc: Exception) -> Response[Any]:
    found = problem(exc) if not isinstance(exc, BAD_INPUT) else problem(as_invalid_body(exc))
    if found.status == 500:
        logger.exception("contacts API failed")
    return Response(found.status, "application/json", found.json(), headers=found.headers or None)


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
