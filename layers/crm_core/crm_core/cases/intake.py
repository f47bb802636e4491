"""An email to the support address becomes a case, or a message on an existing case.

The SES receipt rule stores the message in S3 and then invokes us with its id; the body is always
read from S3. One transaction writes the message's links (its SES id and Message-ID), its event
and the case: a replayed SES event finds the link and only completes what is left (telling the
team, the acknowledgement), each of which happens once. Nothing is dropped: mail that cannot be
read, spam and automated mail become quarantined cases with the reason.

Threading, in order: the signed reply address; In-Reply-To/References against ids we recorded
(ours: any sender; the customer's own earlier ids: only the same sender); the `[Case #...]`
subject reference only when the sender is the case's contact. Unverified mail (anything but a
DMARC PASS: `screening`) never threads and is never acknowledged; mail from our own addresses is
quarantined (a loop).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from crm_core import aws, clock
from crm_core.cases import addressing, lifecycle, limits, mail, notify, store
from crm_core.cases.events import SesEvent, SesMessage
from crm_core.cases.language import guess_language
from crm_core.cases.parsing import ParsedMail, Unreadable, parse
from crm_core.cases.rules import get_policy, route
from crm_core.cases.screening import Screening, screen
from crm_core.cases.sla import SlaState, due_times, iso, next_checkpoint
from crm_core.errors import RetryableError
from crm_core.messaging import Outcome
from crm_core.models.cases import Case, CaseEvent, CaseLink, sla_shard
from crm_core.models.contacts import contact_id_for, normalize_email
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings

if TYPE_CHECKING:
    from crm_core.cases.policy import Policy

MAX_STORED_BYTES = 45 * 1024 * 1024  # SES accepts up to 40 MB; anything bigger is not SES's


@dataclass(frozen=True, slots=True)
class Received:
    """What became of one inbound message."""

    case_id: str
    outcome: str  # created | threaded | quarantined | duplicate
    status: str
    team: str
    priority: str
    ack: str  # sent | duplicate | none: <why>
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class _Inbound:
    ses: SesMessage
    parsed: ParsedMail | None
    screening: Screening
    problem: str | None  # why the message could not be read
    sender: str
    contact_id: str
    now: datetime

    @property
    def quarantine(self) -> str | None:
        return self.screening.quarantine or self.problem


def receive(event: SesEvent) -> list[dict[str, Any]]:
    """Handle every record of an SES Lambda-action event; raises RetryableError on transient faults."""
    return [asdict(receive_message(message)) for message in event.records]


def _fetch(ses_message_id: str) -> tuple[bytes | None, str | None]:
    settings = get_settings()
    key = f"{settings.inbound_mail_prefix}{ses_message_id}"
    try:
        obj = aws.s3().get_object(Bucket=settings.inbound_mail_bucket, Key=key)
    except Exception as exc:  # sorted below: gone for good, or worth a retry
        if aws.error_code(exc) in {"NoSuchKey", "404"}:
            return None, "message not found in the mail bucket"
        raise RetryableError(f"cannot read the message: {aws.error_code(exc) or type(exc).__name__}") from exc
    if int(obj.get("ContentLength") or 0) > MAX_STORED_BYTES:
        obj["Body"].close()
        return None, "message too large to read"
    return obj["Body"].read(), None


def _fallback_sender(ses: SesMessage) -> str:
    for candidate in [*ses.mail.common_headers.from_[:5], ses.mail.source or ""]:
        address = parseaddr(candidate[: 4 * limits.ADDRESS_CHARS])[1]
        if "@" in address and len(address) <= limits.ADDRESS_CHARS:
            return address
    return "unknown-sender@invalid"


def _subject(inbound: _Inbound) -> str:
    parsed = inbound.parsed
    subject = parsed.subject if parsed else inbound.ses.mail.common_headers.subject
    return limits.clip(subject, limits.SUBJECT_CHARS)


def _read(ses: SesMessage, now: datetime) -> _Inbound:
    raw, problem = _fetch(ses.mail.message_id)
    parsed = None
    if raw is not None:
        try:
            parsed = parse(raw)
        except Unreadable as exc:
            problem = f"unreadable: {exc}"
        except Exception as exc:  # noqa: BLE001 - any parser surprise quarantines the mail, never loses it
            problem = f"unreadable: parser failed ({type(exc).__name__})"
    settings = get_settings()
    own = (settings.sender_address, settings.support_address)
    screening = screen(parsed, ses.receipt.verdicts(), ses.mail.source, own)
    sender = parsed.sender if parsed else _fallback_sender(ses)
    return _Inbound(ses, parsed, screening, problem, sender, contact_id_for(sender), now)


def receive_message(ses: SesMessage) -> Received:
    """Turn one received email into a case or an event on one; safe to call again with the same email.

    Raises RetryableError when S3, DynamoDB, SQS or SES fail transiently (Lambda retries the event).
    """
    guard = f"msg#ses-in:{ses.mail.message_id}"
    link = store.get_link(guard)
    if link is not None:
        return _follow_up(link.case_id, link.event_key or "", replay=True)
    inbound = _read(ses, clock.now())
    parsed = inbound.parsed
    if parsed is not None and parsed.message_id:
        same = store.get_link(addressing.link_key(parsed.message_id))
        if same is not None and same.direction == "in" and same.sender == inbound.contact_id:
            return _follow_up(same.case_id, same.event_key or "", replay=True)
    thread = None
    if parsed is not None and not inbound.screening.quarantine and not inbound.screening.unverified:
        thread = find_thread(parsed, ses.receipt.recipients, inbound.contact_id)
    for _ in range(3):
        try:
            written = _add_to_case(inbound, *thread) if thread else _open_case(inbound)
        except Exception as exc:
            if aws.error_code(exc) != "ValidationException":
                raise
            # Refused for good (e.g. too large despite the limits): kept as a bare quarantine, never lost.
            get_logger().warning("inbound message not storable; quarantined", extra={"error": str(exc)[:200]})
            bare = replace(inbound, parsed=None, problem=f"not storable: {str(exc)[:200]}")
            written = _open_case(bare)
        if written is not None:
            return _follow_up(*written, replay=False)
        link = store.get_link(guard)  # a concurrent delivery of the same email won the race
        if link is not None:
            return _follow_up(link.case_id, link.event_key or "", replay=True)
    raise RetryableError("could not record the message (case id collisions)")


def find_thread(parsed: ParsedMail, recipients: list[str], contact_id: str) -> tuple[Case, str] | None:
    """The case a message replies to, and how it was found; None for a new conversation."""
    support = get_settings().support_address
    for address in [*recipients, *parsed.recipients]:
        case_id = addressing.case_from_address(address, support)
        if case_id and (case := store.get_case(case_id)) is not None:
            return case, "signed-address"
    ids = [*parsed.in_reply_to, *reversed(parsed.references)]
    links = {link.key: link for link in store.find_links(addressing.link_key(i) for i in ids)}
    for message_id in ids:
        link = links.get(addressing.link_key(message_id))
        ours_or_theirs = link is not None and (link.direction == "out" or link.sender == contact_id)
        if ours_or_theirs and link is not None and (case := store.get_case(link.case_id)) is not None:
            return case, "in-reply-to"
    referenced = addressing.referenced_case(parsed.subject)
    if referenced and (case := store.get_case(referenced)) is not None and case.contact_id == contact_id:
        return case, "subject-reference"
    return None


def _detail(inbound: _Inbound, **extra: object) -> str:
    parsed = inbound.parsed
    detail: dict[str, object] = {
        "verdicts": inbound.ses.receipt.verdicts(),
        "unverified": inbound.screening.unverified,
        "automated": inbound.screening.automated,
        "quarantine": inbound.quarantine,
        "s3_key": f"{get_settings().inbound_mail_prefix}{inbound.ses.mail.message_id}",
        **extra,
    }
    if parsed is not None:
        detail.update(
            attachments=[asdict(a) for a in parsed.attachments],
            attachments_omitted=parsed.attachments_omitted,
            html_only=parsed.html_only,
            size=parsed.size,
            reduced=parsed.reduced,
            notes=list(parsed.notes),
        )
    return json.dumps(detail, sort_keys=True, ensure_ascii=False)


def _event(inbound: _Inbound, case_id: str, **extra: object) -> CaseEvent:
    parsed = inbound.parsed
    ses_id = inbound.ses.mail.message_id
    return CaseEvent(
        case_id,
        f"event#{iso(inbound.now)}#inbound#{ses_id}",
        kind="inbound",
        at=iso(inbound.now),
        message_id=parsed.message_id if parsed else None,
        ses_message_id=ses_id,
        from_address=inbound.sender,
        subject=_subject(inbound),
        text=parsed.new_text if parsed else None,
        detail=_detail(inbound, **extra),
    )


def _links(inbound: _Inbound, case_id: str, event_key: str) -> list[CaseLink]:
    def link(key: str) -> CaseLink:
        return CaseLink(key, case_id=case_id, direction="in", event_key=event_key, sender=inbound.contact_id)

    links = [link(f"msg#ses-in:{inbound.ses.mail.message_id}")]
    parsed = inbound.parsed
    if parsed is not None and parsed.message_id:
        key = addressing.link_key(parsed.message_id)
        if store.get_link(key) is None:  # a forged duplicate Message-ID must not block this message
            links.append(link(key))
    return links


def _open_case(inbound: _Inbound) -> tuple[str, str] | None:
    policy, parsed, now = get_policy(), inbound.parsed, inbound.now
    contact = store.contact(inbound.contact_id)
    tier, vip = (contact.tier, bool(contact.vip)) if contact else (None, False)
    most_valuable = bool(contact.most_valuable) if contact else False
    subject = _subject(inbound)
    text = f"{subject}\n{parsed.new_text if parsed else ''}"
    routing = route(policy, text=text, sender=inbound.sender, tier=tier, vip=vip, most_valuable=most_valuable)
    quarantine = inbound.quarantine or (
        f"automated: {inbound.screening.automated}" if inbound.screening.automated else None
    )
    case_id = addressing.new_case_id()
    first_due, resolution_due = due_times(policy, routing.priority, now)
    case = Case(
        case_id,
        contact_id=inbound.contact_id,
        email=normalize_email(inbound.sender),
        name=(contact.first_name if contact else None) or (parsed.sender_name if parsed else None) or None,
        subject=subject,
        status="quarantined" if quarantine else "open",
        category=routing.category,
        team=routing.team,
        priority=routing.priority,
        rule=routing.rule,
        locale=(contact.locale if contact else None) or guess_language(text),
        tier=tier,
        vip=vip,
        most_valuable=most_valuable,
        unverified=inbound.screening.unverified,
        quarantine_reason=quarantine,
        source_message=inbound.ses.mail.message_id,
        last_message_id=parsed.message_id if parsed else None,
        opened_at=iso(now),
        updated_at=iso(now),
        first_response_due=iso(first_due),
        resolution_due=iso(resolution_due),
    )
    if not quarantine:
        due = next_checkpoint(policy, SlaState(routing.priority, first_due, resolution_due, frozenset()))
        if due is not None:
            case.due_at, case.due_shard = iso(due), sla_shard(case_id)
    event = _event(inbound, case_id, opened=True, routing=asdict(routing))
    written = store.record_inbound(
        event=event,
        links=_links(inbound, case_id, event.event_key),
        new_case=case,
        contact_update=(inbound.contact_id, case.email, 0 if quarantine else 1),
        now=now,
    )
    if written:
        count("CasesQuarantined" if quarantine else "CasesOpened")
    return (case_id, event.event_key) if written else None


def _add_to_case(inbound: _Inbound, case: Case, how: str) -> tuple[str, str] | None:
    policy, now, parsed = get_policy(), inbound.now, inbound.parsed
    automated = inbound.screening.automated
    actions: list[Any] = [Case.updated_at.set(iso(now))]
    if parsed is not None and parsed.message_id and not automated:
        actions.append(Case.last_message_id.set(parsed.message_id))
    reopen = case.status == "resolved" and not automated
    resume = case.status == "waiting" and not automated
    delta = 0
    if reopen or resume:
        actions += (
            lifecycle.reopen_actions(policy, case, now)
            if reopen
            else lifecycle.resume_actions(policy, case, now)
        )
        delta = 1 if reopen else 0
    event = _event(inbound, case.case_id, opened=False, threaded_by=how, reopened=reopen, resumed=resume)
    written = store.record_inbound(
        event=event,
        links=_links(inbound, case.case_id, event.event_key),
        case_update=(case, actions),
        contact_update=(case.contact_id, case.email, delta),
        now=now,
    )
    if written:
        count("CaseRepliesThreaded")
    return (case.case_id, event.event_key) if written else None


def _follow_up(case_id: str, event_key: str, *, replay: bool) -> Received:
    """What an event still owes after it is recorded: the team told, the customer acknowledged."""
    case, event = store.get_case(case_id), store.get_event(case_id, event_key)
    if case is None or event is None:
        raise RetryableError(f"case {case_id} or its event is not readable yet")
    detail = json.loads(event.detail or "{}")
    policy = get_policy()
    opened = bool(detail.get("opened"))
    if case.status != "quarantined" and not detail.get("automated") and not event.routed:
        team = policy.teams.get(case.team) or policy.teams[policy.default_route.team]
        notify.to_helpdesk(case, team.queue, "case.opened" if opened else "case.reply")
        store.mark_event_routed(event)
    ack = _acknowledge(case, detail, policy) if opened else "none: not a new case"
    if opened and case.status != "quarantined":
        from crm_core.lifecycle.bus import tell_case  # noqa: PLC0415 - EventBridge and owners only for a new case
        from crm_core.owners.service import on_complaint  # noqa: PLC0415 - EventBridge and owners only for a new case

        on_complaint(case.contact_id, case_id, vip=bool(case.vip))
        if not case.unverified:  # forged or unverifiable mail is no complaint of the contact's
            tell_case("opened", case.contact_id, case_id, case.opened_at)
    elif case.status != "quarantined" and not detail.get("automated") and not case.unverified:
        from crm_core.lifecycle.bus import tell_engagement  # noqa: PLC0415 - EventBridge only for a contact's reply

        tell_engagement(case.contact_id, f"{case_id}#{event_key}", event.at, "reply")  # they wrote back
    get_logger().info(
        "inbound mail handled",
        extra={"case_id": case_id, "status": case.status, "replay": replay, "ack": ack, "team": case.team},
    )
    outcome = "duplicate" if replay else ("created" if opened else "threaded")
    if case.status == "quarantined" and opened and not replay:
        outcome = "quarantined"
    return Received(case_id, outcome, case.status, case.team, case.priority, ack, case.quarantine_reason)


def _acknowledge(case: Case, detail: dict[str, Any], policy: Policy) -> str:
    if case.status == "quarantined" and case.quarantine_reason:
        return f"none: {case.quarantine_reason}"
    if detail.get("unverified"):
        return "none: unverified sender"
    if detail.get("automated"):
        return f"none: automated ({detail['automated']})"
    first_response, _ = policy.target(case.priority)
    sent = mail.acknowledge(case, first_response, clock.now())
    if sent.outcome is Outcome.FAILED:
        raise RetryableError(f"acknowledgement not sent: {sent.reason}")
    if sent.outcome is Outcome.SUPPRESSED:
        return f"none: {sent.reason or 'suppressed'}"
    return sent.outcome.value
