"""Events the lifecycle function receives from EventBridge, and what each means for the stage.

| detail-type | detail | signal |
|---|---|---|
| `Scheduled Event` (the daily rule) | - | the daily review (`run_daily`) |
| `crm.survey.answered` | `contact_id`, `answer_id`, `answered_at` | engaged ("survey answer") |
| `crm.engagement` | `contact_id`, `id`, `at`, `what` ("reply", "click" ...) | engaged |
| `crm.case.opened` | `contact_id`, `case_id`, `opened_at` | complaint opened |
| `crm.case.resolved` | `contact_id`, `case_id`, `resolved_at` | complaint resolved |

A detail missing a field is refused with ValidationFailed naming it (the event goes to the function's
on-failure destination: a publisher's bug, not something a retry fixes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm_core.errors import FieldError, ValidationFailed

# detail-type -> (signal kind, id field, time field, what)
SIGNALS: dict[str, tuple[str, str, str, str | None]] = {
    "crm.survey.answered": ("engaged", "answer_id", "answered_at", "survey answer"),
    "crm.engagement": ("engaged", "id", "at", None),
    "crm.case.opened": ("complaint_opened", "case_id", "opened_at", None),
    "crm.case.resolved": ("complaint_resolved", "case_id", "resolved_at", None),
}


def _field(detail: dict[str, Any], name: str) -> str:
    value = detail.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed([FieldError(f"detail.{name}", "is required (a non-empty string)")])
    return value.strip()


def handle_bus_event(event: dict[str, Any]) -> dict[str, Any]:
    """Run the daily review or apply one signal; returns a small report. Raises ValidationFailed for
    an event of an unknown type or a detail without its fields, RetryableError."""
    from crm_core import lifecycle  # noqa: PLC0415 - the lifecycle engine only when an event comes

    kind = event.get("detail-type")
    if kind == "Scheduled Event":
        outcome = lifecycle.run_daily()
        return {"reviewed": outcome.reviewed, "changed": outcome.changed}
    if kind not in SIGNALS:
        raise ValidationFailed([FieldError("detail-type", f"not a lifecycle signal: {kind!r}")])
    signal, id_field, time_field, what = SIGNALS[kind]
    detail = event.get("detail") or {}
    contact_id, signal_id = _field(detail, "contact_id"), _field(detail, id_field)
    try:
        at = datetime.fromisoformat(_field(detail, time_field).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed([FieldError(f"detail.{time_field}", "must be an ISO 8601 instant")]) from None
    if at.tzinfo is None:
        raise ValidationFailed([FieldError(f"detail.{time_field}", "must carry a time zone")])
    stage = lifecycle.note_signal(contact_id, signal, signal_id, at, what or detail.get("what"))
    return {"signal": signal, "changed_to": stage}
