"""Mail about a case: the acknowledgement and agents' replies, through `deliver`, threaded both ways.

What we send carries the case reference in the subject, the signed reply address in Reply-To and
the customer's last Message-ID in In-Reply-To/References (so their client threads it too). The
Message-ID SES gives it is recorded as a link to the case, so a reply quoting it finds the case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist

from crm_core.cases import addressing, store
from crm_core.clock import iso
from crm_core.messaging import Outcome, Outgoing, deliver, mime
from crm_core.messaging.ledger import message_key
from crm_core.messaging.templates import locale_chain
from crm_core.models.cases import Case, CaseEvent, CaseLink
from crm_core.models.contacts import greeting_name
from crm_core.models.messages import SentMessage
from crm_core.settings import get_settings

ACK_KIND = "case-ack"
REPLY_KIND = "case-reply"
_UNITS = {
    "en": (("minute", "minutes"), ("hour", "hours"), ("day", "days")),
    "it": (("minuto", "minuti"), ("ora", "ore"), ("giorno", "giorni")),
    "de": (("Minute", "Minuten"), ("Stunde", "Stunden"), ("Tag", "Tagen")),
    "id": (("menit", "menit"), ("jam", "jam"), ("hari", "hari")),
}


def human_duration(length: timedelta, locale: str | None) -> str:
    """ "4 hours", "4 ore", "4 Stunden", "4 jam": the expected response time in the reader's language."""
    language = next((loc for loc in locale_chain(locale) if loc in _UNITS), "en")
    minutes = int(length.total_seconds() // 60)
    if minutes % (24 * 60) == 0 and minutes >= 48 * 60:
        amount, unit = minutes // (24 * 60), 2
    elif minutes % 60 == 0:
        amount, unit = minutes // 60, 1
    else:
        amount, unit = minutes, 0
    singular, plural = _UNITS[language][unit]
    return f"{amount} {singular if amount == 1 else plural}"


@dataclass(frozen=True, slots=True)
class Sent:
    """What sending a case message did, and the Message-ID a reply will quote."""

    outcome: Outcome
    message_id: str | None  # the Message-ID header SES gave it
    reason: str | None = None


def _threading_headers(case: Case) -> dict[str, str]:
    if not case.last_message_id:
        return {}
    quoted = f"<{case.last_message_id}>"
    return {"In-Reply-To": quoted, "References": quoted}


def _record(
    case: Case, kind: str, occurrence: str, detail: dict[str, object], text: str | None
) -> str | None:
    """Link SES's Message-ID to the case and add the event; both idempotent. Returns the Message-ID."""
    sent = _sent(case, kind, occurrence)
    if sent is None:
        return None
    assert sent.ses_message_id and sent.sent_at  # noqa: S101 - narrows the type; _sent returns only records of a completed send
    header = addressing.ses_message_id_header(sent.ses_message_id, get_settings().region)
    event_kind, event_key = _event_key(kind, sent)
    store.save_link(
        CaseLink(addressing.link_key(header), case_id=case.case_id, direction="out", event_key=event_key)
    )
    store.save_event(
        CaseEvent(
            case.case_id,
            event_key,
            kind=event_kind,
            at=iso(sent.sent_at, milliseconds=True),
            message_id=header.strip("<>"),
            ses_message_id=sent.ses_message_id,
            text=text,
            detail=json.dumps(detail, sort_keys=True),
        )
    )
    return header


def _sent(case: Case, kind: str, occurrence: str) -> SentMessage | None:
    """The ledger's record of a completed send of this message (consistent read), else None."""
    try:
        sent = SentMessage.get(message_key(case.contact_id, kind, occurrence), consistent_read=True)
    except DoesNotExist:
        return None
    if sent.status != "sent" or not sent.ses_message_id or sent.sent_at is None:
        return None
    return sent


def _event_key(kind: str, sent: SentMessage) -> tuple[str, str]:
    """(event kind, event key) of the case event that records a sent message."""
    event_kind = "ack" if kind == ACK_KIND else "reply"
    return event_kind, f"event#{iso(sent.sent_at, milliseconds=True)}#{event_kind}#{sent.ses_message_id}"


def recorded_text(case: Case, *, kind: str, occurrence: str) -> str | None:
    """The text of the message already sent for this kind and occurrence, if the case recorded it."""
    sent = _sent(case, kind, occurrence)
    if sent is None:
        return None
    event = store.get_event(case.case_id, _event_key(kind, sent)[1])
    return event.text if event is not None else None


def send(
    case: Case, *, kind: str, occurrence: str, context: dict[str, object], text: str | None = None
) -> Sent:
    """Send one message about the case (once per kind and occurrence) and record it on the case."""
    settings = get_settings()
    delivery = deliver(
        Outgoing(
            contact_id=case.contact_id,
            to=case.email,
            kind=kind,
            occurrence=occurrence,
            template=kind,
            locale=case.locale,
            context={
                "case_id": case.case_id,
                "case_ref": addressing.subject_reference(case.case_id),
                **context,
            },
            reply_to=addressing.reply_address(settings.support_address, case.case_id),
            headers=_threading_headers(case),
            # RFC 3834: the acknowledgement answers the customer's mail automatically; a reply is an agent's.
            auto_submitted=mime.AUTO_REPLIED if kind == ACK_KIND else None,
        )
    )
    header = None
    if delivery.outcome in {Outcome.SENT, Outcome.DUPLICATE}:
        header = _record(case, kind, occurrence, {"template": kind, "occurrence": occurrence}, text)
    return Sent(delivery.outcome, header, delivery.reason)


def acknowledge(case: Case, first_response: timedelta, now: datetime) -> Sent:
    """The acknowledgement of a new case (sent once per case), unless the hourly limit is reached."""
    if not store.reserve_ack(case.contact_id, case.case_id, now=now, limit=get_settings().case_acks_per_hour):
        return Sent(Outcome.SUPPRESSED, None, "rate-limited")
    return send(
        case,
        kind=ACK_KIND,
        occurrence=case.case_id,
        context={
            "name": greeting_name(case.name),  # a plausible personal name, else the nameless greeting
            "subject": case.subject,
            "expected": human_duration(first_response, case.locale),
        },
    )
