"""The consent history of a contact: every grant, refusal, confirmation request, confirmation and
unsubscribe, with its time and source, on the contact item itself (the writes that change consent
already update that item, so the history costs no extra call and no extra permission).

Bounded to LIMIT entries (the DynamoDB item limit is 400 KB): the oldest are dropped beyond it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from crm_core.models.contacts import Consent, ConsentEvent, Contact

if TYPE_CHECKING:
    from pynamodb.expressions.update import Action

LIMIT = 50


def stamp(at: datetime) -> str:
    """An instant as the history writes it: ISO 8601 UTC to the second ("2026-11-23T10:00:00Z")."""
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def event(kind: str, at: str, source: str | None = None, evidence: Consent | None = None) -> ConsentEvent:
    """One history entry; `evidence` (a stored decision) gives its form and page."""
    return ConsentEvent(  # type: ignore[no-untyped-call]
        event=kind,
        at=at,
        source=source or (evidence.source if evidence is not None else None),
        form_id=evidence.form_id if evidence is not None else None,
        source_page=evidence.source_page if evidence is not None else None,
    )


def of_decision(decision: Consent, *, pending: bool = False) -> ConsentEvent:
    """The entry of a stored decision: granted or refused, or a consent waiting for confirmation."""
    kind = "confirmation-requested" if pending else ("granted" if decision.granted else "refused")
    if decision.source == "confirmed" and not pending:
        kind = "confirmed"
    return event(kind, decision.at, evidence=decision)


def append(old: Contact | None, entries: list[ConsentEvent]) -> list[Action]:
    """The update actions that add `entries` to the history (atomic list_append while under LIMIT,
    else the kept tail written whole)."""
    if not entries:
        return []
    held = list(old.consent_log or []) if old is not None else []
    if len(held) + len(entries) > LIMIT:
        return [Contact.consent_log.set([*held, *entries][-LIMIT:])]
    return [Contact.consent_log.set((Contact.consent_log | []).append(entries))]


def as_json(entries: list[Any] | None) -> list[dict[str, Any]]:
    """Entries as plain dicts (from a model or from a raw DynamoDB read), oldest first."""
    out = []
    for entry in entries or []:
        data = entry.as_dict() if hasattr(entry, "as_dict") else dict(entry)
        out.append({k: v for k, v in data.items() if v is not None})
    return out
