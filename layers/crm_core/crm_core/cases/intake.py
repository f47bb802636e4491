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
from crm_core.cases.language import guess_language
from crm_core.cases.parsing import ParsedMail, Unreadable, parse
from crm_core.cases.rules import get_policy
from crm_core.cases.screening import Screening, screen
from crm_core.cases.ses_event import SesEvent, SesMessage
from crm_core.cases.sla import SlaState, due_times, next_checkpoint
from crm_core.clock import iso
from crm_core.errors import RetryableError
from crm_core.messaging import Outcome
from crm_core.models.cases import Case, CaseEvent, CaseLink, sla_shard
from crm_core.models.contacts import contact_id_for, normalize_email
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings

if TYPE_CHECKING:
    from crm_core.cases.policy import Policy
    from crm_core.cases.rules import Routing

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
    parsed: ParsedMail  # or its stand-in, when the message could not be read
    screening: Screening
    contact_id: str
    now: datetime

    @property
    def sender(self) -> str:
        return self.parsed.sender

    @property
    def quarantine(self) -> str | None:
        """Why the message is quarantined (SES's verdicts, a loop, unreadable), or None."""
        return self.screening.quarantine or self.parsed.problem

    @property
    def case_quarantine(self) -> str | None:
        """Why a case this message opens is quarantined: automated mail is too, or None."""
        automated = self.screening.automated
        return self.quarantine or (f"automated: {automated}" if automated else None)

    @property
    def text(self) -> str:
        """What classification and language detection read: the subject and the new text."""
        return f"{_subject(self)}\n{self.parsed.new_text}"


@dataclass(frozen=True, slots=True)
class _Customer:
    """What the contact record tells a new case (nothing, for a sender we do not know)."""

    tier: str | None = None
    vip: bool = False
    most_valuable: bool = False
    first_name: str | None = None
    locale: str | None = None


def receive(event: SesEvent) -> list[dict[str, Any]]:
    """Handle every record of an SES Lambda-action event; raises RetryableError on transient faults."""
    return [asdict(receive_message(message)) for message in event.records]


class _NotStored(Exception):  # named for the reason, like Unreadable (N818 is off)
    """The message is not in the mail bucket in a form we can read; the text says why."""


def _fetch(ses_message_id: str) -> bytes:
    """The raw message from the mail bucket; raises _NotStored (gone, too large) or RetryableError."""
    settings = get_settings()
    key = f"{settings.inbound_mail_prefix}{ses_message_id}"
    try:
        obj = aws.s3().get_object(Bucket=settings.inbound_mail_bucket, Key=key)
    except Exception as exc:  # sorted below: gone for good, or worth a retry
        if aws.error_code(exc) in {"NoSuchKey", "404"}:
            raise _NotStored("message not found in the mail bucket") from None
        raise RetryableError(f"cannot read the message: {aws.error_code(exc) or type(exc).__name__}") from exc
    if int(obj.get("ContentLength") or 0) > MAX_STORED_BYTES:
        obj["Body"].close()
        raise _NotStored("message too large to read")
    data: bytes = obj["Body"].read()
    return data


def _fallback_sender(ses: SesMessage) -> str:
    for candidate in [*ses.mail.common_headers.from_[:5], ses.mail.source or ""]:
        address = parseaddr(candidate[: 4 * limits.ADDRESS_CHARS])[1]
        if "@" in address and len(address) <= limits.ADDRESS_CHARS:
            return address
    return "unknown-sender@invalid"


def _stand_in(ses: SesMessage, reason: str, sender: str | None = None) -> ParsedMail:
    """What is known of a message that could not be read: SES's view of its sender and subject."""
    subject = ses.mail.common_headers.subject
    return ParsedMail.unreadable(reason, sender=sender or _fallback_sender(ses), subject=subject)


def _subject(inbound: _Inbound) -> str:
    return limits.clip(inbound.parsed.subject, limits.SUBJECT_CHARS)


def _parsed(ses: SesMessage) -> ParsedMail:
    """The message read from the mail bucket, or its stand-in saying why it could not be read."""
    try:
        raw = _fetch(ses.mail.message_id)
    except _NotStored as exc:
        return _stand_in(ses, str(exc))
    try:
        return parse(raw)
    except Unreadable as exc:
        return _stand_in(ses, f"unreadable: {exc}")
    except Exception as exc:  # noqa: BLE001 - any parser surprise quarantines the mail, never loses it
        return _stand_in(ses, f"unreadable: parser failed ({type(exc).__name__})")


def _read(ses: SesMessage, now: datetime) -> _Inbound:
    parsed = _parsed(ses)
    settings = get_settings()
    own = (settings.sender_address, settings.support_address)
    screening = screen(parsed, ses.receipt.verdicts(), ses.mail.source, own)
    return _Inbound(ses, parsed, screening, contact_id_for(parsed.sender), now)


def receive_message(ses: SesMessage) -> Received:
    """Turn one received email into a case or an event on one; safe to call again with the same email.

    Raises RetryableError when S3, DynamoDB, SQS or SES fail transiently (Lambda retries the event).
    """
    guard = f"msg#ses-in:{ses.mail.message_id}"
    replayed = _replay(guard)
    if replayed is not None:
        return replayed
    inbound = _read(ses, clock.now())
    return _resent(inbound) or _record(inbound, guard)


def _replay(link_key: str) -> Received | None:
    """What is left to do for a message already recorded under `link_key`; None if it was not."""
    link = store.get_link(link_key)
    return _follow_up(link.case_id, link.event_key or "", replay=True) if link is not None else None


def _resent(inbound: _Inbound) -> Received | None:
    """The same message delivered again under another SES id (its Message-ID, from the same sender)
    is a replay of the first delivery; None when it is new."""
    message_id = inbound.parsed.message_id
    same = store.get_link(addressing.link_key(message_id)) if message_id else None
    if same is None or same.direction != "in" or same.sender != inbound.contact_id:
        return None
    return _follow_up(same.case_id, same.event_key or "", replay=True)


def _record(inbound: _Inbound, guard: str) -> Received:
    """Record the message on the case it continues, or on a new one, then do what that owes."""
    thread = _thread(inbound)
    for _ in range(3):
        written = _write(inbound, thread)
        if written is not None:
            return _follow_up(*written, replay=False)
        replayed = _replay(guard)  # a concurrent delivery of the same email won the race
        if replayed is not None:
            return replayed
    raise RetryableError("could not record the message (case id collisions)")


def _thread(inbound: _Inbound) -> tuple[Case, str] | None:
    """The case a verified message continues; quarantined or unverified mail always opens its own."""
    if inbound.quarantine or inbound.screening.unverified:
        return None
    return find_thread(inbound.parsed, inbound.ses.receipt.recipients, inbound.contact_id)


def _write(inbound: _Inbound, thread: tuple[Case, str] | None) -> tuple[str, str] | None:
    """(case id, event key) once written; None when a condition failed (a replay, a taken case id)."""
    try:
        return _add_to_case(inbound, *thread) if thread else _open_case(inbound)
    except Exception as exc:
        if aws.error_code(exc) != "ValidationException":
            raise
        # Refused for good (e.g. too large despite the limits): kept as a bare quarantine, never lost.
        get_logger().warning("inbound message not storable; quarantined", extra={"error": str(exc)[:200]})
        bare = _stand_in(inbound.ses, f"not storable: {str(exc)[:200]}", inbound.sender)
        return _open_case(replace(inbound, parsed=bare))


def find_thread(parsed: ParsedMail, recipients: list[str], contact_id: str) -> tuple[Case, str] | None:
    """The case a message replies to, and how it was found; None for a new conversation."""
    return (
        _by_signed_address([*recipients, *parsed.recipients])
        or _by_message_ids([*parsed.in_reply_to, *reversed(parsed.references)], contact_id)
        or _by_subject_reference(parsed.subject, contact_id)
    )


def _by_signed_address(addresses: list[str]) -> tuple[Case, str] | None:
    support = get_settings().support_address
    for address in addresses:
        case_id = addressing.case_from_address(address, support)
        if case_id and (case := store.get_case(case_id)) is not None:
            return case, "signed-address"
    return None


def _by_message_ids(ids: list[str], contact_id: str) -> tuple[Case, str] | None:
    """A message id we sent (whoever quotes it), or one the same sender sent us before."""
    links = {link.key: link for link in store.find_links(addressing.link_key(i) for i in ids)}
    for message_id in ids:
        link = links.get(addressing.link_key(message_id))
        if link is None or (link.direction != "out" and link.sender != contact_id):
            continue
        if (case := store.get_case(link.case_id)) is not None:
            return case, "in-reply-to"
    return None


def _by_subject_reference(subject: str, contact_id: str) -> tuple[Case, str] | None:
    """`[Case #...]` in the subject counts only from the case's own contact."""
    referenced = addressing.referenced_case(subject)
    if referenced and (case := store.get_case(referenced)) is not None and case.contact_id == contact_id:
        return case, "subject-reference"
    return None


def _reading(parsed: ParsedMail) -> dict[str, object]:
    """How the message was read, for the event's detail (nothing, for an unread message)."""
    if not parsed.readable:
        return {}
    return {
        "attachments": [asdict(a) for a in parsed.attachments],
        "attachments_omitted": parsed.attachments_omitted,
        "html_only": parsed.html_only,
        "size": parsed.size,
        "reduced": parsed.reduced,
        "notes": list(parsed.notes),
    }


def _detail(inbound: _Inbound, **extra: object) -> str:
    detail: dict[str, object] = {
        "verdicts": inbound.ses.receipt.verdicts(),
        "unverified": inbound.screening.unverified,
        "automated": inbound.screening.automated,
        "quarantine": inbound.quarantine,
        "s3_key": f"{get_settings().inbound_mail_prefix}{inbound.ses.mail.message_id}",
        **extra,
        **_reading(inbound.parsed),
    }
    return json.dumps(detail, sort_keys=True, ensure_ascii=False)


def _event(inbound: _Inbound, case_id: str, **extra: object) -> CaseEvent:
    parsed = inbound.parsed
    ses_id = inbound.ses.mail.message_id
    return CaseEvent(
        case_id,
        f"event#{iso(inbound.now, milliseconds=True)}#inbound#{ses_id}",
        kind="inbound",
        at=iso(inbound.now, milliseconds=True),
        message_id=parsed.message_id,
        ses_message_id=ses_id,
        from_address=inbound.sender,
        subject=_subject(inbound),
        text=parsed.new_text if parsed.readable else None,
        detail=_detail(inbound, **extra),
    )


def _links(inbound: _Inbound, case_id: str, event_key: str) -> list[CaseLink]:
    def link(key: str) -> CaseLink:
        return CaseLink(key, case_id=case_id, direction="in", event_key=event_key, sender=inbound.contact_id)

    links = [link(f"msg#ses-in:{inbound.ses.mail.message_id}")]
    message_id = inbound.parsed.message_id
    if message_id:
        key = addressing.link_key(message_id)
        if store.get_link(key) is None:  # a forged duplicate Message-ID must not block this message
            links.append(link(key))
    return links


def _customer(contact_id: str) -> _Customer:
    contact = store.contact(contact_id)
    if contact is None:
        return _Customer()
    return _Customer(
        contact.tier, bool(contact.vip), bool(contact.most_valuable), contact.first_name, contact.locale
    )


def _open_case(inbound: _Inbound) -> tuple[str, str] | None:
    """Open a case for the message: routed by the rules, its SLA watched unless it is quarantined."""
    policy, customer = get_policy(), _customer(inbound.contact_id)
    tier, vip, most_valuable = customer.tier, customer.vip, customer.most_valuable
    text = inbound.text
    routing = policy.route(text=text, sender=inbound.sender, tier=tier, vip=vip, most_valuable=most_valuable)
    case = _new_case(policy, inbound, customer, routing)
    event = _event(inbound, case.case_id, opened=True, routing=routing._asdict())
    quarantined = case.status == "quarantined"
    written = store.record_inbound(
        event=event,
        links=_links(inbound, case.case_id, event.event_key),
        new_case=case,
        contact_update=(inbound.contact_id, case.email, 0 if quarantined else 1),
        now=inbound.now,
    )
    if written:
        count("CasesQuarantined" if quarantined else "CasesOpened")
    return (case.case_id, event.event_key) if written else None


def _new_case(policy: Policy, inbound: _Inbound, customer: _Customer, routing: Routing) -> Case:
    now, quarantine = inbound.now, inbound.case_quarantine
    case_id = addressing.new_case_id()
    first_due, resolution_due = due_times(policy, routing.priority, now)
    case = Case(
        case_id,
        contact_id=inbound.contact_id,
        email=normalize_email(inbound.sender),
        name=customer.first_name or inbound.parsed.sender_name or None,
        subject=_subject(inbound),
        status="quarantined" if quarantine else "open",
        category=routing.category,
        team=routing.team,
        priority=routing.priority,
        rule=routing.rule,
        locale=customer.locale or guess_language(inbound.text),
        tier=customer.tier,
        vip=customer.vip,
        most_valuable=customer.most_valuable,
        unverified=inbound.screening.unverified,
        quarantine_reason=quarantine,
        source_message=inbound.ses.mail.message_id,
        last_message_id=inbound.parsed.message_id,
        opened_at=iso(now, milliseconds=True),
        updated_at=iso(now, milliseconds=True),
        first_response_due=iso(first_due, milliseconds=True),
        resolution_due=iso(resolution_due, milliseconds=True),
    )
    due = None if quarantine else _first_checkpoint(policy, routing.priority, first_due, resolution_due)
    if due is not None:
        case.due_at, case.due_shard = iso(due, milliseconds=True), sla_shard(case_id)
    return case


def _first_checkpoint(
    policy: Policy, priority: str, first_due: datetime, resolution_due: datetime
) -> datetime | None:
    return next_checkpoint(policy, SlaState(priority, first_due, resolution_due, frozenset()))


def _add_to_case(inbound: _Inbound, case: Case, how: str) -> tuple[str, str] | None:
    """Record the message on the case it continues: a resolved case reopens, a waiting one resumes
    (neither for automated mail)."""
    policy, now = get_policy(), inbound.now
    automated = inbound.screening.automated
    actions: list[Any] = [Case.updated_at.set(iso(now, milliseconds=True))]
    if inbound.parsed.message_id and not automated:
        actions.append(Case.last_message_id.set(inbound.parsed.message_id))
    reopen = case.status == "resolved" and not automated
    resume = case.status == "waiting" and not automated
    if reopen:
        actions += lifecycle.reopen_actions(policy, case, now)
    elif resume:
        actions += lifecycle.resume_actions(policy, case, now)
    event = _event(inbound, case.case_id, opened=False, threaded_by=how, reopened=reopen, resumed=resume)
    written = store.record_inbound(
        event=event,
        links=_links(inbound, case.case_id, event.event_key),
        case_update=(case, actions),
        contact_update=(case.contact_id, case.email, 1 if reopen else 0),
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
    _tell_team(policy, case, event, detail, opened)
    ack = _acknowledge(case, detail, policy) if opened else "none: not a new case"
    _tell_owner_and_lifecycle(case, event, detail, opened)
    get_logger().info(
        "inbound mail handled",
        extra={"case_id": case_id, "status": case.status, "replay": replay, "ack": ack, "team": case.team},
    )
    outcome = _outcome(case, opened=opened, replay=replay)
    return Received(case_id, outcome, case.status, case.team, case.priority, ack, case.quarantine_reason)


def _tell_team(policy: Policy, case: Case, event: CaseEvent, detail: dict[str, Any], opened: bool) -> None:
    """The team hears of a new case or a reply, once (never of quarantined or automated mail)."""
    if case.status == "quarantined" or detail.get("automated") or event.routed:
        return
    team = policy.teams.get(case.team) or policy.teams[policy.default_route.team]
    notify.to_helpdesk(case, team.queue, "case.opened" if opened else "case.reply")
    store.mark_event_routed(event)


def _tell_owner_and_lifecycle(case: Case, event: CaseEvent, detail: dict[str, Any], opened: bool) -> None:
    """The contact's owner and lifecycle hear of a complaint, or of the customer writing back."""
    if case.status == "quarantined":
        return
    if opened:
        from crm_core.lifecycle.bus import tell_case  # noqa: PLC0415 - EventBridge only for a new case
        from crm_core.owners.service import on_complaint  # noqa: PLC0415 - owners only for a new case

        on_complaint(case.contact_id, case.case_id, vip=bool(case.vip))
        if not case.unverified:  # forged or unverifiable mail is no complaint of the contact's
            tell_case("opened", case.contact_id, case.case_id, case.opened_at)
    elif not detail.get("automated") and not case.unverified:
        from crm_core.lifecycle.bus import tell_engagement  # noqa: PLC0415 - EventBridge only for a reply

        tell_engagement(
            case.contact_id, f"{case.case_id}#{event.event_key}", event.at, "reply"
        )  # they wrote back


def _outcome(case: Case, *, opened: bool, replay: bool) -> str:
    if replay:
        return "duplicate"
    if not opened:
        return "threaded"
    return "quarantined" if case.status == "quarantined" else "created"


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
