"""SES feedback: bounces, complaints, deliveries and sends, as SES publishes them.

The stack receives configuration-set event publishing (`eventType`) through EventBridge, whose event
carries SES's record as its `detail`. Identity notifications (`notificationType`, SNS only) are read
too: their Bounce, Complaint and Delivery bodies are the same shape.
- A permanent bounce or a complaint suppresses the address for every kind of mail.
- A transient (or undetermined) bounce is counted, once per SES feedback id; TRANSIENT_BOUNCE_LIMIT
  of them suppress the address too. A delivery clears the count of bounces older than itself (by
  SES's own timestamps: a replayed old Delivery forgives nothing newer).
- A Send or Delivery event tagged with a ledger key (event publishing only) records on that
  sent-message item that SES accepted it: the settlement of a send whose outcome we did not see.
A notification of an unexpected shape is logged with the reason, counted and dropped (a retry would
not make it readable). Every step is an idempotent conditional write, so a redelivered event changes
nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from crm_core import clock
from crm_core.messaging import ledger, suppressions
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings

KINDS = frozenset({"Bounce", "Complaint", "Delivery", "Send"})
_MAX_ADDRESS = 254  # RFC 5321's limit; a longer "address" is not one


class Unreadable(ValueError):
    """A notification that is not of the shape SES publishes."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One SES event about a sent message: bounce, complaint, delivery or send."""

    kind: str  # "Bounce" | "Complaint" | "Delivery" | "Send" | anything else SES sends (ignored)
    recipients: tuple[str, ...] = ()
    bounce_type: str | None = None  # "Permanent" | "Transient" | "Undetermined"
    complaint_type: str | None = None  # "abuse", "not-spam", ... (often absent)
    feedback_id: str = ""
    at: datetime | None = None  # SES's own time of the event (bounce, delivery, send)
    ses_message_id: str = ""
    ledger_key: str | None = None  # from the message's `ledger_key` tag (event publishing only)


@dataclass
class Summary:
    """How many notifications of each kind a batch handled."""

    counts: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, int]:
        """The counts as the handler returns and logs them."""
        return dict(self.counts)


def _object(data: Mapping[str, Any], key: str, *, required: bool = True) -> Mapping[str, Any]:
    value = data.get(key)
    if isinstance(value, Mapping):
        return value
    if value is None and not required:
        return {}
    raise Unreadable(f"{key!r} is not an object")


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _time(data: Mapping[str, Any], key: str) -> datetime | None:
    """An SES timestamp ("2026-11-23T10:08:01.546Z"), or None when absent or unreadable."""
    try:
        stamp = datetime.fromisoformat(_text(data, key).replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _addresses(entries: Any) -> tuple[str, ...]:
    if not isinstance(entries, list):
        raise Unreadable("the recipients are not a list")
    found = []
    for entry in entries:
        raw = entry.get("emailAddress") if isinstance(entry, Mapping) else entry
        if not isinstance(raw, str) or len(raw) > 4 * _MAX_ADDRESS:
            continue
        address = parseaddr(raw)[1]
        if "@" in address and len(address) <= _MAX_ADDRESS:
            found.append(address)
    return tuple(found)


def _ledger_key(mail: Mapping[str, Any]) -> str | None:
    tags = mail.get("tags")
    values = tags.get(ledger.TAG_NAME) if isinstance(tags, Mapping) else None
    if isinstance(values, list) and values and isinstance(values[0], str):
        return ledger.key_from_tag(values[0])
    return None


def parse(message: object) -> Notification:
    """Read one SES notification (its JSON text or the parsed object).

    Raises Unreadable (a ValueError) when it is not of the shape SES publishes, json's ValueError
    when it is not JSON, RecursionError when it nests deeper than the parser goes.
    """
    data = json.loads(message) if isinstance(message, str | bytes) else message
    if not isinstance(data, Mapping):
        raise Unreadable("an SES notification is a JSON object")
    kind = data.get("notificationType") or data.get("eventType") or ""
    if not isinstance(kind, str) or not kind:
        raise Unreadable("neither notificationType nor eventType: not an SES notification")
    mail = _object(data, "mail", required=kind in KINDS)
    reader = _READERS.get(kind)
    return reader(data, mail, _text(mail, "messageId")) if reader is not None else Notification(kind)


def _read_bounce(data: Mapping[str, Any], mail: Mapping[str, Any], ses_message_id: str) -> Notification:
    bounce = _object(data, "bounce")
    return Notification(
        "Bounce",
        _addresses(bounce.get("bouncedRecipients", [])),
        bounce_type=_text(bounce, "bounceType") or "Undetermined",
        feedback_id=_text(bounce, "feedbackId") or ses_message_id,
        at=_time(bounce, "timestamp") or _time(mail, "timestamp"),
        ses_message_id=ses_message_id,
    )


def _read_complaint(data: Mapping[str, Any], mail: Mapping[str, Any], ses_message_id: str) -> Notification:
    complaint = _object(data, "complaint")
    return Notification(
        "Complaint",
        _addresses(complaint.get("complainedRecipients", [])),
        complaint_type=_text(complaint, "complaintFeedbackType") or None,
        feedback_id=_text(complaint, "feedbackId") or ses_message_id,
        at=_time(complaint, "timestamp"),
        ses_message_id=ses_message_id,
    )


def _read_delivery(data: Mapping[str, Any], mail: Mapping[str, Any], ses_message_id: str) -> Notification:
    delivery = _object(data, "delivery")
    return Notification(
        "Delivery",
        _addresses(delivery.get("recipients", [])),
        feedback_id=ses_message_id,
        at=_time(delivery, "timestamp"),
        ses_message_id=ses_message_id,
        ledger_key=_ledger_key(mail),
    )


def _read_send(data: Mapping[str, Any], mail: Mapping[str, Any], ses_message_id: str) -> Notification:
    return Notification(
        "Send", at=_time(mail, "timestamp"), ses_message_id=ses_message_id, ledger_key=_ledger_key(mail)
    )


# The notification kinds SES publishes that we read; any other kind is returned as its name alone.
_READERS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any], str], Notification]] = {
    "Bounce": _read_bounce,
    "Complaint": _read_complaint,
    "Delivery": _read_delivery,
    "Send": _read_send,
}


def _bounce(address: str, note: Notification, now: datetime, summary: Summary) -> None:
    if note.bounce_type == "Permanent":
        summary.counts["hard_bounces"] += 1
        count("EmailHardBounces")
        if suppressions.suppress(address, scope=suppressions.SCOPE_ALL, reason="bounce", now=now):
            summary.counts["suppressed"] += 1
        return
    summary.counts["soft_bounces"] += 1
    count("EmailSoftBounces")
    so_far = suppressions.count_transient_bounce(address, note.feedback_id, now=now, bounced_at=note.at)
    if so_far >= get_settings().transient_bounce_limit and suppressions.suppress(
        address, scope=suppressions.SCOPE_ALL, reason="transient-bounces", now=now
    ):
        summary.counts["suppressed"] += 1


def _settle(note: Notification, now: datetime, summary: Summary) -> None:
    """Record SES's Send/Delivery event on the ledger item it is tagged with (see ledger.claim)."""
    if note.ledger_key is None or not note.ses_message_id:
        return
    if ledger.record_ses_event(note.ledger_key, note.kind, note.ses_message_id, note.at or now):
        summary.counts["sends_recorded"] += 1  # no metric: SES's own Send and Delivery metrics are free


def _apply(note: Notification, now: datetime, summary: Summary) -> None:
    if note.kind in {"Send", "Delivery"}:
        _settle(note, now, summary)
    for address in note.recipients:
        if note.kind == "Bounce":
            _bounce(address, note, now, summary)
        elif note.kind == "Complaint":
            if note.complaint_type == "not-spam":  # the recipient said it is NOT spam
                summary.counts["not_spam"] += 1
                continue
            summary.counts["complaints"] += 1
            count("EmailComplaints")
            if suppressions.suppress(address, scope=suppressions.SCOPE_ALL, reason="complaint", now=now):
                summary.counts["suppressed"] += 1
        elif note.kind == "Delivery":
            summary.counts["deliveries"] += 1
            if note.at is not None:  # without SES's time it cannot be ordered after the bounces
                suppressions.clear_transient_bounces(address, delivered_at=note.at)


def record_event(event: Mapping[str, Any]) -> Summary:
    """Apply the SES event EventBridge delivered: its `detail` is the record SES published. An event
    without one is counted as unreadable and dropped, like any unreadable notification."""
    return record_notifications([event.get("detail")])


def record_notifications(messages: Iterable[object]) -> Summary:
    """Apply each SES notification; unreadable ones are logged with the reason, counted and dropped,
    not raised (a retry would not make them readable). Raises DynamoDB errors, so the invocation is
    retried."""
    summary, now, log = Summary(), clock.now(), get_logger()
    for message in messages:  # how many arrived is the rule's free AWS/Events Invocations
        try:
            note = parse(message)
        except (ValueError, RecursionError) as exc:  # Unreadable and json's errors are ValueErrors
            summary.counts["unreadable"] += 1
            count("SesNotificationsUnreadable")
            reason = str(exc)[:200] if isinstance(exc, Unreadable) else type(exc).__name__
            log.warning("unreadable SES notification dropped", extra={"reason": reason})
            continue
        if note.kind not in KINDS:
            summary.counts["ignored"] += 1
            continue
        _apply(note, now, summary)
    log.info("SES notifications recorded", extra=summary.as_dict())
    return summary
