"""SES feedback: bounces, complaints and deliveries, as SES publishes them to SNS.

Both of SES's formats are read: identity notifications (`notificationType`) and configuration-set
event publishing (`eventType`); their Bounce, Complaint and Delivery bodies are the same shape.
- A permanent bounce or a complaint suppresses the address for every kind of mail.
- A transient (or undetermined) bounce is counted, once per SES feedback id; TRANSIENT_BOUNCE_LIMIT
  of them suppress the address too. A delivery to the address clears its count.
Every step is an idempotent conditional write, so SNS redelivering a notification changes nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from crm_core import clock
from crm_core.messaging import suppressions
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings


@dataclass(frozen=True, slots=True)
class Notification:
    kind: str  # "Bounce" | "Complaint" | "Delivery" | anything else SES sends (ignored)
    recipients: tuple[str, ...] = ()
    bounce_type: str | None = None  # "Permanent" | "Transient" | "Undetermined"
    complaint_type: str | None = None  # "abuse", "not-spam", ... (often absent)
    feedback_id: str = ""


@dataclass
class Summary:
    counts: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, int]:
        return dict(self.counts)


def _addresses(entries: Iterable[Any]) -> tuple[str, ...]:
    found = []
    for entry in entries:
        raw = entry.get("emailAddress") if isinstance(entry, Mapping) else entry
        address = parseaddr(str(raw or ""))[1]
        if "@" in address:
            found.append(address)
    return tuple(found)


def parse(message: str | Mapping[str, Any]) -> Notification:
    """Read one SES notification (the SNS message text or its JSON); raises ValueError if it is not one."""
    data = json.loads(message) if isinstance(message, str) else message
    if not isinstance(data, Mapping):
        raise ValueError("an SES notification is a JSON object")
    kind = str(data.get("notificationType") or data.get("eventType") or "")
    mail: Mapping[str, Any] = data["mail"] if isinstance(data.get("mail"), Mapping) else {}
    if kind == "Bounce":
        bounce = data["bounce"]
        return Notification(
            kind,
            _addresses(bounce.get("bouncedRecipients", [])),
            bounce_type=str(bounce.get("bounceType", "Undetermined")),
            feedback_id=str(bounce.get("feedbackId") or mail.get("messageId", "")),
        )
    if kind == "Complaint":
        complaint = data["complaint"]
        return Notification(
            kind,
            _addresses(complaint.get("complainedRecipients", [])),
            complaint_type=complaint.get("complaintFeedbackType"),
            feedback_id=str(complaint.get("feedbackId") or mail.get("messageId", "")),
        )
    if kind == "Delivery":
        delivery = data["delivery"]
        return Notification(
            kind, _addresses(delivery.get("recipients", [])), feedback_id=str(mail.get("messageId", ""))
        )
    if not kind:
        raise ValueError("neither notificationType nor eventType: not an SES notification")
    return Notification(kind)


def _bounce(address: str, note: Notification, now: datetime, summary: Summary) -> None:
    if note.bounce_type == "Permanent":
        summary.counts["hard_bounces"] += 1
        count("EmailHardBounces")
        if suppressions.suppress(address, scope=suppressions.SCOPE_ALL, reason="bounce", now=now):
            summary.counts["suppressed"] += 1
        return
    summary.counts["soft_bounces"] += 1
    count("EmailSoftBounces")
    so_far = suppressions.count_transient_bounce(address, note.feedback_id, now=now)
    if so_far >= get_settings().transient_bounce_limit and suppressions.suppress(
        address, scope=suppressions.SCOPE_ALL, reason="transient-bounces", now=now
    ):
        summary.counts["suppressed"] += 1


def _apply(note: Notification, now: datetime, summary: Summary) -> None:
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
            suppressions.clear_transient_bounces(address)


def record_notifications(messages: Iterable[str | Mapping[str, Any]]) -> Summary:
    """Apply each SES notification; unreadable ones are logged and counted, not raised (a retry
    would not make them readable). DynamoDB errors pass, so the invocation is retried."""
    summary, now, log = Summary(), clock.now(), get_logger()
    for message in messages:
        count("SesNotifications")
        try:
            note = parse(message)
        except (ValueError, KeyError, TypeError) as exc:
            summary.counts["unreadable"] += 1
            count("SesNotificationsUnreadable")
            log.warning("unreadable SES notification skipped", extra={"error": str(exc)})
            continue
        if note.kind not in {"Bounce", "Complaint", "Delivery"}:
            summary.counts["ignored"] += 1
            continue
        _apply(note, now, summary)
    log.info("SES notifications recorded", extra=summary.as_dict())
    return summary
