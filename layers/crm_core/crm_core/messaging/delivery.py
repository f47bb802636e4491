"""deliver(): the one way a message leaves the CRM. Suppression check, claim, render, send, record."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from crm_core import aws, clock
from crm_core.messaging import ledger, mime, quiet_hours, suppressions, templates, tokens
from crm_core.messaging.headers import HeaderError, ascii_address
from crm_core.messaging.templates import render
from crm_core.models.messages import SentMessage
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings


class Outcome(StrEnum):
    """What a delivery attempt did with a message (see each value)."""

    SENT = "sent"
    # Already sent or skipped (reason "sent"/"skipped"), being sent by a live claim or of unknown
    # outcome (reason "in-progress", retry_at = when that claim may be taken again), or given up after
    # MAX_ATTEMPTS ("gave-up").
    DUPLICATE = "duplicate"
    SUPPRESSED = "suppressed"
    DEFERRED = "deferred"  # marketing inside the contact's quiet hours: try again at retry_at
    # Released for a later retry; or SES may have sent it (reason "outcome-unknown: ...", retry_at = end
    # of the window); or it can never be sent (reason "unsendable: ...", recorded as skipped).
    FAILED = "failed"


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
    # RFC 3834: every automatic message says so ("auto-replied" for answers to a customer's mail), so
    # auto-responders do not answer it; None only for a message a person wrote (an agent's reply).
    auto_submitted: str | None = mime.AUTO_GENERATED
    # A service message that still waits for the end of quiet hours (surveys); marketing always does.
    respect_quiet_hours: bool = False


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one delivery, SES's message id when sent, why, and when to try again."""

    outcome: Outcome
    ses_message_id: str | None = None
    reason: str | None = None
    retry_at: datetime | None = None


def unsubscribe_url(contact_id: str, kind: str) -> str:
    """The signed link that unsubscribes a contact from marketing (GET confirms, POST acts)."""
    token = tokens.sign({"c": contact_id, "k": kind}, UNSUBSCRIBE_PURPOSE)
    return f"{get_settings().public_base_url.rstrip('/')}/unsubscribe?token={token}"


def sender_name() -> str:
    """The display name of `From`: SENDER_NAME, else the brand's name (campaigns.yaml)."""
    return get_settings().sender_name or templates.brand().get("name", "")


def _marketing_extras(message: Outgoing) -> tuple[dict[str, Any], dict[str, str]]:
    """Context and headers every marketing message carries: a visible link and RFC 8058 one-click."""
    url = unsubscribe_url(message.contact_id, message.kind)
    headers = {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return {"unsubscribe_url": url}, headers


# Errors after which SES may have accepted the message: the request reached it, the answer did not.
_AMBIGUOUS = (ReadTimeoutError, ConnectionClosedError)


def _ambiguous(exc: Exception) -> bool:
    """True when SES may have accepted the message although the call failed."""
    if isinstance(exc, _AMBIGUOUS):
        return True
    response = getattr(exc, "response", None)
    status = (
        response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) if isinstance(response, dict) else 0
    )
    return isinstance(status, int) and status >= 500  # a server fault may come after the send


def _unknown_window() -> timedelta:
    return timedelta(seconds=get_settings().unknown_outcome_window_seconds)


def _duplicate(message: Outgoing, now: datetime, grace: timedelta) -> Delivery:
    """Why the claim was refused, read back from the ledger (one consistent read, duplicates only)."""
    record = ledger.current(message.contact_id, message.kind, message.occurrence)
    if record is None:  # vanishingly rare: deleted between our claim and this read
        return Delivery(Outcome.DUPLICATE, reason="in-progress", retry_at=now + grace)
    if record.status in {"sent", "skipped"}:
        return Delivery(Outcome.DUPLICATE, reason=record.status)
    if (record.attempts or 0) >= ledger.MAX_ATTEMPTS:
        return Delivery(Outcome.DUPLICATE, reason="gave-up")
    if record.status == "unknown":  # SES may have sent it: wait for its Send event or the window's end
        return Delivery(
            Outcome.DUPLICATE, reason="in-progress", retry_at=record.claimed_at + _unknown_window()
        )
    return Delivery(Outcome.DUPLICATE, reason="in-progress", retry_at=record.claimed_at + grace)


def deliver(message: Outgoing, *, pace: Callable[[], None] | None = None) -> Delivery:
    """Send `message` at most once; safe to call again with the same message at any time.

    `pace`, when given, is called right before SES is (a rate limiter's acquire): skipped,
    deferred and duplicate messages cost no sending capacity.

    Raises nothing for SES failures (the claim is released, or marked of unknown outcome when SES may
    have accepted it, and the outcome says FAILED) nor for a message that cannot be built for SES (an
    address SES refuses: the claim ends as skipped with the reason); raises ConfigurationError for a
    missing template (and Jinja2's errors for a broken one) after releasing the claim, and lets
    DynamoDB errors through (a throttled write of SES's answer is retried first).
    """
    settings, now, log = get_settings(), clock.now(), get_logger()
    names = {"contact_id": message.contact_id, "kind": message.kind, "occurrence": message.occurrence}
    if suppressions.blocks(suppressions.suppression_for(message.to), marketing=message.marketing):
        ledger.mark_skipped(message.contact_id, message.kind, message.occurrence, "suppressed", now=now)
        count("MessagesSuppressed")
        log.info("message suppressed", extra=names)
        return Delivery(Outcome.SUPPRESSED, reason="suppressed")
    if (message.marketing or message.respect_quiet_hours) and quiet_hours.is_quiet(now, message.time_zone):
        retry_at = quiet_hours.next_allowed(now, message.time_zone)
        log.info("message deferred past quiet hours", extra={**names, "retry_at": retry_at.isoformat()})
        return Delivery(Outcome.DEFERRED, reason="quiet-hours", retry_at=retry_at)
    grace = timedelta(seconds=settings.claim_grace_seconds)
    claim = ledger.claim(
        message.contact_id,
        message.kind,
        message.occurrence,
        now=now,
        grace=grace,
        unknown_window=_unknown_window(),
    )
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
    try:
        request = _request(message, rendered.subject, rendered.text, rendered.html, headers)
    except HeaderError as exc:  # no retry can send it: ended for good, with the reason, never left claimed
        reason = f"unsendable: {exc}"
        ledger.mark_unsendable(claim, reason)
        count("MessagesUnsendable")
        log.warning("message cannot be sent; claim ended", extra={**names, "reason": reason})
        return Delivery(Outcome.FAILED, reason=reason)
    if pace is not None:
        pace()
    return _send(message, claim, request, rendered.locale)


def _request(
    message: Outgoing, subject: str, text: str, html: str, headers: Mapping[str, str]
) -> dict[str, Any]:
    """The SES v2 SendEmail request: raw MIME, the ASCII (punycode) recipient, the ledger key as a tag.

    Raises HeaderError (UnsendableAddress among them) when the message cannot be built for SES.
    """
    settings = get_settings()
    to = ascii_address(message.to)
    raw = mime.build(
        sender=settings.sender_address,
        sender_name=sender_name(),
        to=to,
        subject=subject,
        text=text,
        html=html,
        reply_to=message.reply_to,
        headers=headers,
        auto_submitted=message.auto_submitted,
    )
    request: dict[str, Any] = {
        "FromEmailAddress": settings.sender_address,
        "Destination": {"ToAddresses": [to]},
        "Content": {"Raw": {"Data": raw}},
    }
    tag = ledger.tag_value(ledger.message_key(message.contact_id, message.kind, message.occurrence))
    if tag is not None:  # SES copies it into the Send/Delivery events that settle an unknown outcome
        request["EmailTags"] = [{"Name": ledger.TAG_NAME, "Value": tag}]
    if settings.configuration_set:
        request["ConfigurationSetName"] = settings.configuration_set
    return request


def _send(message: Outgoing, claim: SentMessage, request: dict[str, Any], locale: str) -> Delivery:
    """Call SES once and record its answer on the claim (see `deliver`)."""
    log = get_logger()
    names = {"contact_id": message.contact_id, "kind": message.kind, "occurrence": message.occurrence}
    try:
        response = aws.sesv2().send_email(**request)
    except Exception as exc:  # noqa: BLE001 - any SES failure releases the claim for a later run
        reason = aws.error_code(exc) or type(exc).__name__
        count("MessagesFailed")
        if _ambiguous(exc):
            ledger.mark_unknown(claim, f"outcome-unknown: {reason}")
            count("MessagesOutcomeUnknown")
            retry_at = claim.claimed_at + _unknown_window()
            log.warning("SES may have sent it; settled by its Send event", extra={**names, "reason": reason})
            return Delivery(Outcome.FAILED, reason=f"outcome-unknown: {reason}", retry_at=retry_at)
        ledger.mark_failed(claim, reason)
        log.warning("send failed; claim released for retry", extra={**names, "reason": reason})
        return Delivery(Outcome.FAILED, reason=reason)
    message_id = response["MessageId"]
    try:
        ledger.mark_sent(claim, message_id, now=clock.now())
    except Exception:
        # SES accepted it but the ledger cannot say so: the claim goes stale and the Send event (tagged
        # with the ledger key) settles it; raising makes the trigger's own retry see a live claim.
        count("MessagesOutcomeUnknown")
        log.exception("sent, but the ledger write failed", extra={**names, "ses_message_id": message_id})
        raise
    count("MessagesSent")
    log.info("message sent", extra={**names, "ses_message_id": message_id, "locale": locale})
    return Delivery(Outcome.SENT, ses_message_id=message_id)
