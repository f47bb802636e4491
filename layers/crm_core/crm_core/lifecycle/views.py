"""What `GET /contacts/{id}/lifecycle` answers: stage, since, history with reasons, value, segment."""

from __future__ import annotations

from typing import Any

from crm_core.errors import NotFound
from crm_core.lifecycle.service import current_stage, read_contact
from crm_core.value.store import current


def view(contact_id: str) -> dict[str, Any]:
    """The contact's lifecycle and value; raises NotFound for an unknown contact."""
    contact = read_contact(contact_id)
    if contact is None:
        raise NotFound(f"contact {contact_id} does not exist")
    lifecycle = contact.get("lifecycle") or {}
    stage, since = current_stage(contact)
    value = current(contact)
    return {
        "contact_id": contact_id,
        "stage": stage,
        "since": since or None,
        "reason": lifecycle.get("reason") or ("lead without purchase" if stage == "exploration" else None),
        "history": [
            {k: change.get(k) for k in ("from", "to", "at", "reason", "cause")}
            for change in lifecycle.get("history") or []
        ],
        "value": value.get("figures"),
        "rfm": value.get("rfm"),
        "segment": value.get("segment"),
        "most_valuable": bool(contact.get("most_valuable")) or bool(contact.get("vip")),
        "most_valuable_by": _valued_by(contact),
    }


def _valued_by(contact: dict[str, Any]) -> list[str]:
    return [
        name for name, on in (("value", contact.get("most_valuable")), ("agent", contact.get("vip"))) if on
    ]
