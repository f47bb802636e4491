"""The contacts API for staff tools (IAM): the contact 360, lookup by address, owner, tasks and notes."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.contacts import view
from crm_core.contacts.api import body, created, query, router
from crm_core.http.router import Response
from crm_core.observability import lambda_entry
from crm_core.owners import service

app = router()


@app.get("/contacts/<contact_id>")
@app.get("/contacts")  # ?email=
def get_contact(contact_id: str | None = None) -> dict[str, Any]:
    return view.contact_360(contact_id or view.find_by_email(query(app).get("email", "")), query(app))


@app.put("/contacts/<contact_id>/owner")
def set_owner(contact_id: str) -> dict[str, Any]:
    return service.set_owner(contact_id, body(app).get("owner"), by=body(app).get("by"))


@app.post("/contacts/<contact_id>/tasks")
def create_task(contact_id: str) -> Response[str]:
    return created(
        service.create_task(contact_id, body(app), app.current_event.headers.get("idempotency-key"))
    )


@app.get("/contacts/<contact_id>/tasks")
def list_tasks(contact_id: str) -> dict[str, Any]:
    return service.list_tasks(contact_id, query(app).get("status") or None)


@app.post("/contacts/<contact_id>/tasks/<task_id>/complete")
def complete_task(contact_id: str, task_id: str) -> dict[str, Any]:
    return service.complete_task(contact_id, task_id)


@app.post("/contacts/<contact_id>/tasks/<task_id>/snooze")
def snooze_task(contact_id: str, task_id: str) -> dict[str, Any]:
    return service.snooze_task(contact_id, task_id, body(app).get("until"))


@app.post("/contacts/<contact_id>/notes")
def add_note(contact_id: str) -> Response[str]:
    return created(service.add_note(contact_id, body(app), app.current_event.headers.get("idempotency-key")))


@lambda_entry(correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
