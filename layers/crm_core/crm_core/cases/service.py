"""What the case API and the `crm cases` command do: read, list, change status, reply to the customer."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from crm_core import clock
from crm_core.cases import lifecycle, mail, store
from crm_core.cases.escalation import state_of
from crm_core.cases.rules import get_policy
from crm_core.cases.sla import next_checkpoint
from crm_core.clock import iso
from crm_core.errors import Conflict, FieldError, KeyReused, NotFound, RetryableError, ValidationFailed
from crm_core.messaging import Outcome
from crm_core.models.cases import Case, CaseEvent

OPEN_STATUSES = ("open", "waiting", "quarantined")
MAX_REPLY_CHARS = 20_000
REPLY_KEY = re.compile(r"[\x21-\x7e]{1,128}")

_CASE_FIELDS = (
    "case_id", "status", "subject", "category", "team", "priority", "rule", "contact_id", "email", "name",
    "locale", "tier", "vip", "most_valuable", "unverified", "quarantine_reason", "opened_at", "updated_at",
    "first_response_due", "resolution_due", "first_responded_at", "resolved_at", "paused_at", "reopened",
)  # fmt: skip


def case_view(case: Case, now: datetime | None = None) -> dict[str, Any]:
    """A case as the API shows it, with whether it is overdue now."""
    view = {name: getattr(case, name) for name in _CASE_FIELDS}
    view["sla_marks"] = sorted(case.sla_marks or [])
    view["overdue"] = is_overdue(case, now or clock.now())
    return view


def event_view(event: CaseEvent) -> dict[str, Any]:
    """One case event as the cases API shows it."""
    return {
        "kind": event.kind,
        "at": event.at,
        "from": event.from_address,
        "subject": event.subject,
        "text": event.text,
        "message_id": event.message_id,
        "detail": json.loads(event.detail) if event.detail else {},
    }


def is_overdue(case: Case, now: datetime) -> bool:
    """Open and past a target it has not met (a case waiting on the customer is never overdue)."""
    if case.status != "open":
        return False
    stamp = iso(now, milliseconds=True)
    late_first = (
        not case.first_responded_at and bool(case.first_response_due) and case.first_response_due < stamp
    )
    return late_first or bool(case.resolution_due and case.resolution_due < stamp)


def get_case(case_id: str) -> dict[str, Any]:
    """The case with its events, oldest first; raises NotFound."""
    case, events = store.case_and_events(case_id.upper())
    return {**case_view(case), "events": [event_view(e) for e in events]}


def list_cases(status: str | None = None, overdue: bool = False, limit: int = 100) -> dict[str, Any]:
    """Cases by status (default: all still needing work), newest activity first; raises ValidationFailed."""
    if status is not None and status not in lifecycle.STATUSES:
        raise ValidationFailed([FieldError("status", f"must be one of {', '.join(lifecycle.STATUSES)}")])
    statuses = [status] if status else list(OPEN_STATUSES)
    now = clock.now()
    found = []
    for name in statuses:
        for case in store.cases_by_status(name, limit=limit):
            if not overdue or is_overdue(case, now):
                found.append(case_view(case, now))
    found.sort(key=lambda c: str(c["updated_at"]), reverse=True)
    return {"cases": found[:limit]}


def change_status(
    case_id: str, status: str, *, by: str | None = None, note: str | None = None
) -> dict[str, Any]:
    """Move a case to a status; raises ValidationFailed, NotFound, Conflict."""
    case = lifecycle.change_status(case_id.upper(), status, now=clock.now(), by=by, note=note)
    return case_view(case)


def reply(
    case_id: str,
    text: str,
    *,
    agent: str | None = None,
    reply_key: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Email an agent's reply to the customer, threaded, once per `reply_key` (default: the text).

    Raises ValidationFailed (empty or huge text, a malformed key), NotFound, Conflict (quarantined
    case, suppressed address), KeyReused (the key already sent another text), RetryableError (SES
    failed: nothing was sent; asking again is safe).
    """
    text = _checked_reply(text, reply_key)
    case = _repliable(case_id)
    sent = _send_reply(case, text, reply_key, agent)
    now = clock.now()
    if not case.first_responded_at:
        _mark_first_response(case, now)
    if status and status != case.status:
        case = lifecycle.change_status(case.case_id, status, now=now, by=agent)
    return {
        **case_view(store.get_case(case.case_id) or case),
        "reply": {"outcome": sent.outcome.value, "message_id": sent.message_id},
    }


def _checked_reply(text: str, reply_key: str | None) -> str:
    """The reply's text, stripped; raises ValidationFailed for an empty or huge text or a malformed key."""
    text = (text or "").strip()
    if not text or len(text) > MAX_REPLY_CHARS:
        raise ValidationFailed([FieldError("text", f"must be 1 to {MAX_REPLY_CHARS} characters")])
    if reply_key is not None and not REPLY_KEY.fullmatch(reply_key):
        # refused, never truncated: two long keys cut to one length would name one reply
        raise ValidationFailed([FieldError("Idempotency-Key", "must be 1 to 128 printable ASCII characters")])
    return text


def _repliable(case_id: str) -> Case:
    """The case to reply on; raises NotFound, or Conflict while it is quarantined."""
    case = store.get_case(case_id.upper())
    if case is None:
        raise NotFound(f"no case {case_id}")
    if case.status == "quarantined":
        raise Conflict("the case is quarantined: open it before replying")
    return case


def _send_reply(case: Case, text: str, reply_key: str | None, agent: str | None) -> mail.Sent:
    """Send the reply once per key; raises KeyReused, RetryableError (not sent), Conflict (suppressed)."""
    key = reply_key or hashlib.sha256(text.encode()).hexdigest()[:16]
    recorded = mail.recorded_text(case, kind=mail.REPLY_KIND, occurrence=f"{case.case_id}.{key}")
    if recorded is not None and recorded != text:  # checked before sending: a replay re-records the event
        raise KeyReused(f"the Idempotency-Key {reply_key} was used for another reply on this case")
    sent = mail.send(
        case,
        kind=mail.REPLY_KIND,
        occurrence=f"{case.case_id}.{key}",
        context={"name": case.name or "", "subject": case.subject, "body": text, "agent": agent or ""},
        text=text,
    )
    if sent.outcome is Outcome.FAILED:
        raise RetryableError(f"the reply was not sent ({sent.reason}); try again")
    if sent.outcome is Outcome.SUPPRESSED:
        raise Conflict("the customer's address is suppressed (bounced or complained)")
    return sent


def _mark_first_response(case: Case, now: datetime) -> None:
    """The first reply meets the first-response target: the SLA watches only the resolution now."""
    case.first_responded_at = iso(now, milliseconds=True)
    due = next_checkpoint(get_policy(), state_of(case)) if case.status == "open" else None
    store.update_case(
        case,
        [
            Case.first_responded_at.set(iso(now, milliseconds=True)),
            Case.updated_at.set(iso(now, milliseconds=True)),
            *lifecycle.due_actions(case.case_id, due),
        ],
        now=now,
        condition=Case.first_responded_at.does_not_exist(),
    )
