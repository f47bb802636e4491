"""deliver(): the one way a message leaves the CRM. Suppression check, claim, render, send, record."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from crm_core import aws, clock
from crm_core.messaging import ledger, mime, quiet_hours, suppressions, tokens
from crm_core.messaging.templates import render
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings


class Outcome(StrEnum):
    SENT = "sent"
    # Already sent or skipped (reason "sent"/"skipped"), being sent by a live claim (reason
    # "in-progress", retry_at = when that claim goes stale), or given up after MAX_ATTEMPTS ("gave-up").
    DUPLICATE = "duplicate"
    SUPPRESSED = "suppressed"
    DEFERRED = "deferred"  # marketing inside the contact's quiet hours: try again at retry_at
    FAILED = "failed"  # released for a later retry


UNSUBSCRIBE_PURPOSE = "unsubscribe"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to one contact. `(contact_id, kind, occurrence)` names it once and for all."""

    contact_id: str
    to: str
    kind: str  # e.g. "welcome.1", "birthday", "case-ack"
    occurrence: str  # e.g. "1", "2027", a case id
    template: str
    locale: str | None
    context: Mapping[str, Any] = field(default_factory=dict)
    marketing: bool = False
    reply_to: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    time_zone: str | None = None  # the contact's IANA zone; the business default when None


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: Outcome
    ses_message_id: str | None = None
    reason: str | None = None
    retry_at: datetime | None = None


def unsubscribe_url(contact_id: str, kind: str) -> str:
    """The signed link that unsubscribes a contact from marketing (GET confirms, POST acts)."""
    token = tokens.sign({"c": contact_id, "k": kind}, UNSUBSCRIBE_PURPOSE)
    return f"{get_settings().public_base_url.rstrip('/')}/unsubscribe?token={token}"


def _marketing_extras(message: Outgoing) -> tuple[dict[str, Any], dict[str, str]]:
    """Context and headers every marketing message carries: a visible link and RFC 8058 one-click."""
    url = unsubscribe_url(message.contact_id, message.kind)
    headers = {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return {"unsubscribe_url": url}, headers


def _duplicate(message: Outgoing, now: datetime, grace: timedelta) -> Delivery:
    """Why the claim was refused, read back from the ledger (one consistent read, duplicates only)."""
    record = ledger.current(message.contact_id, message.kind, message.occurrence)
    if record is None:  # vanishingly rare: deleted between our claim and this read
        return Delivery(Outcome.DUPLICATE, reason="in-progress", retry_at=now + grace)
    if record.status in {"sent", "skipped"}:
        return Delivery(Outcome.DUPLICATE, reason=record.status)
    if (record.attempts or 0) >= ledger.MAX_ATTEMPTS:
        return Delivery(Outcome.DUPLICATE, reason="gave-up")
    return Delivery(Outcome.DUPLICATE, reason="in-progress", retry_at=record.claimed_at + grace)


def deliver(message: Outgoing, *, pace: Callable[[], None] | None = None) -> Delivery:
    """Send `message` at most once; safe to call again with the same message at any time.

    `pace`, when given, is called right before SES is (a rate limiter's acquire): skipped,
    deferred and duplicate messages cost no sending capacity.

    Raises nothing for SES failures (the claim is released and the outcome says FAILED); raises
    ConfigurationError for a missing template (and Jinja2's errors for a broken one) after
    releasing the claim, and lets DynamoDB errors through.
    """
    settings, now, log = get_settings(), clock.now(), get_logger()
    names = {"contact_id": message.contact_id, "kind": message.kind, "occurrence": message.occurrence}
    if suppressions.blocks(suppressions.suppression_for(message.to), marketing=message.marketing):
        ledger.mark_skipped(message.contact_id, message.kind, message.occurrence, "suppressed", now=now)
        count("MessagesSuppressed")
        log.info("message suppressed", extra=names)
        return Delivery(Outcome.SUPPRESSED, reason="suppressed")
    if message.marketing and quiet_hours.is_quiet(now, message.time_zone):
        retry_at = quiet_hours.next_allowed(now, message.time_zone)
        log.info("marketing deferred past quiet hours", extra={**names, "retry_at": retry_at.isoformat()})
        return Delivery(Outcome.DEFERRED, reason="quiet-hours", retry_at=retry_at)
    grace = timedelta(seconds=settings.claim_grace_seconds)
    claim = ledger.claim(message.contact_id, message.kind, message.occurrence, now=now, grace=grace)
    if claim is None:
        duplicate = _duplicate(message, now, grace)
        log.info("message already claimed or sent", extra={**names, "reason": duplicate.reason})
        return duplicate
    context, headers = dict(message.context), dict(message.headers)
    if message.marketing:
        extra_context, extra_headers = _marketing_extras(message)
        context.update(extra_context)
        headers.update(extra_headers)
    try:
        rendered = render(message.template, message.locale, context, settings.default_locale)
    except Exception:
        ledger.mark_failed(claim, "render-error")  # released at once: fixing the template fixes the send
        count("MessagesFailed")
        raise
    raw = mime.build(
        sender=settings.sender_address,
        to=message.to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        reply_to=message.reply_to,
        headers=headers,
    )
    request: dict[str, Any] = {
        "FromEmailAddress": settings.sender_address,
        "Destination": {"ToAddresses": [message.to]},
        "Content": {"Raw": {"Data": raw}},
    }
    if settings.configuration_set:
        request["ConfigurationSetName"] = settings.configuration_set
    if pace is not None:
        pace()
    try:
        response = aws.sesv2().send_email(**request)
    except Exception as exc:  # noqa: BLE001 - any SES failure releases the claim for a later run
        reason = aws.error_code(exc) or type(exc).__name__
        ledger.mark_failed(claim, reason)
        count("MessagesFailed")
        log.warning("send failed; claim released for retry", extra={**names, "reason": reason})
        return Delivery(Outcome.FAILED, reason=reason)
    message_id = response["MessageId"]
    ledger.mark_sent(claim, message_id, now=clock.now())
    count("MessagesSent")
    log.info("message sent", extra={**names, "ses_message_id": message_id, "locale": rendered.locale})
    return Delivery(Outcome.SENT, ses_message_id=message_id)
