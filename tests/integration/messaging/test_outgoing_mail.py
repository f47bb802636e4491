"""Outgoing mail against hostile data and ambiguous failures: no injected header, no stuck claim, no
blind resend, and every automatic message marked as such (RFC 3834)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from pynamodb.exceptions import UpdateError

from crm_core import aws
from crm_core.campaigns.enrollment import enroll
from crm_core.cases import notify
from crm_core.cases.sla import Checkpoint
from crm_core.messaging import Outcome, Outgoing, deliver, ledger
from crm_core.models import SentMessage, contact_id_for
from crm_core.models.cases import Case
from tests.complaints import compose, ses_event
from tests.helpers import load_handler
from tests.integration.campaigns.test_followup_sender import lead, run
from tests.integration.messaging.test_ses_notifications import bus_event

BCC_IN_ENCODED_WORD = "=?utf-8?q?Ana=0D=0ABcc:_victim@example.com?="
INTENDED = {"From", "To", "Subject", "MIME-Version", "Content-Type", "Auto-Submitted"}


def _sent(stack: Any) -> list[Message]:
    return [message_from_bytes(m.raw_data.encode(), policy=policy.default) for m in stack.sent_emails()]


def _one_line_each(message: Message) -> None:
    for value in message.values():
        assert "\r" not in str(value) and "\n" not in str(value).replace("\n ", " ")


# ---------------------------------------------------------------- the two reported injections


def test_a_lead_name_with_an_encoded_crlf_adds_no_header_to_a_later_follow_up(stack, frozen_clock) -> None:
    # The trailing space ends the encoded-word before the template's "?", so a parser decodes it.
    contact_id = lead("ana@example.com", first_name=BCC_IN_ENCODED_WORD + " ")
    enroll(contact_id, "welcome", at=frozen_clock.now())
    for days in (0, 2, 7):  # welcome, tips, then the check-in, whose subject greets by name
        frozen_clock.set(datetime(2026, 11, 23, 10, tzinfo=UTC) + timedelta(days=days))
        run()

    mails = _sent(stack)
    assert len(mails) == 3
    assert [mail.get_all("Bcc") for mail in mails] == [None, None, None]
    for mail in mails:
        assert set(mail.keys()) - {"List-Unsubscribe", "List-Unsubscribe-Post", "Reply-To"} == INTENDED
        _one_line_each(mail)
    assert mails[2]["Subject"] == "How is it going?"  # not a plausible name: the nameless greeting


def test_an_inbound_subject_with_encoded_bcc_and_reply_to_adds_nothing_to_the_acknowledgement(
    stack, frozen_clock, lambda_context
) -> None:
    # The sender double-encodes: the inbound subject decodes once into text that is itself an
    # encoded-word with CR/LF, Bcc: and Reply-To: in it, which the acknowledgement repeats.
    payload = "=?utf-8?q?Order_late=0D=0ABcc:_victim@example.com=0D=0AReply-To:_thief@evil.example?="
    outer = "=?utf-8?b?" + base64.b64encode(payload.encode()).decode() + "?="
    raw = compose(subject="placeholder").replace(b"Subject: placeholder", f"Subject: {outer}".encode())

    load_handler("route_complaint").lambda_handler(ses_event(raw), lambda_context)

    (ack,) = _sent(stack)
    assert ack.get_all("Bcc") is None
    assert len(ack.get_all("Reply-To")) == 1 and "evil.example" not in str(ack["Reply-To"])
    assert set(ack.keys()) - {"Reply-To", "In-Reply-To", "References"} == INTENDED
    _one_line_each(ack)


# ---------------------------------------------------------------- RFC 3834


def test_follow_ups_say_they_are_auto_generated(stack, frozen_clock) -> None:
    enroll(lead("ana@example.com"), "welcome", at=frozen_clock.now())
    run()
    (welcome,) = _sent(stack)
    assert welcome["Auto-Submitted"] == "auto-generated"


def test_a_case_acknowledgement_says_it_is_an_automatic_reply_and_an_agent_reply_does_not(
    stack, frozen_clock, lambda_context
) -> None:
    from crm_core.cases import mail

    load_handler("route_complaint").lambda_handler(ses_event(compose()), lambda_context)
    (ack,) = _sent(stack)
    assert ack["Auto-Submitted"] == "auto-replied"

    (case,) = Case.by_contact.query(contact_id_for("ana@example.it"))
    mail.send(
        case,
        kind=mail.REPLY_KIND,
        occurrence="r1",
        context={"body": "Hello", "agent": "Bea", "subject": "x", "name": "Ana"},
    )
    reply = _sent(stack)[1]
    assert reply.get_all("Auto-Submitted") is None  # a person wrote it


def test_an_sla_alert_says_it_is_auto_generated(stack, frozen_clock, lambda_context) -> None:
    load_handler("route_complaint").lambda_handler(ses_event(compose()), lambda_context)
    (case,) = Case.by_contact.query(contact_id_for("ana@example.it"))
    checkpoint = Checkpoint(
        at=frozen_clock.now(), mark="fr-0", target="first_response", level=0, notify="team"
    )

    notify.email_alert(case, checkpoint, "lead@example.com")

    assert _sent(stack)[-1]["Auto-Submitted"] == "auto-generated"


NOTICE_CONTEXT = {
    "name": "Ana",
    "years": 2,
    "points": 10,
    "balance": 10,
    "multiplier": 2,
    "expires_on": "2027-01-01",
    "tier": "gold",
    "previous_tier": "silver",
    "upgrade": True,
}


@pytest.mark.parametrize("kind", ["birthday", "anniversary", "points-expiring", "tier-change"])
def test_greetings_and_loyalty_notices_say_they_are_auto_generated(stack, frozen_clock, kind) -> None:
    # Occasions and loyalty notices build their Outgoing without naming it: the default applies.
    address = "ana@example.com"
    marketing = kind in {"birthday", "anniversary"}
    message = Outgoing(contact_id_for(address), address, kind, "1", kind, "en", NOTICE_CONTEXT, marketing)
    assert deliver(message).outcome is Outcome.SENT
    assert _sent(stack)[-1]["Auto-Submitted"] == "auto-generated"


# ---------------------------------------------------------------- addresses SES cannot send to


def _notice(to: str, **overrides: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "contact_id": contact_id_for(to),
        "to": to,
        "kind": "points-expiring",
        "occurrence": "lot-1",
        "template": "points-expiring",
        "locale": "en",
        "context": {**NOTICE_CONTEXT, "name": "Jörg"},
    }
    fields.update(overrides)
    return Outgoing(**fields)


def test_a_utf8_local_part_ends_the_claim_with_a_reason_instead_of_holding_it(stack, frozen_clock) -> None:
    # Reaches deliver as an address accepted before the door refused such addresses would.
    first = deliver(_notice("jörg@müller.de"))
    again = deliver(_notice("jörg@müller.de"))

    assert first.outcome is Outcome.FAILED and first.reason is not None
    assert first.reason.startswith("unsendable:")
    item = SentMessage.get(ledger.message_key(contact_id_for("jörg@müller.de"), "points-expiring", "lot-1"))
    assert (item.status, item.reason) == ("skipped", first.reason)  # ended, never left claimed
    assert (again.outcome, again.reason) == (Outcome.DUPLICATE, "skipped")
    assert stack.sent_emails() == []


def test_an_idn_domain_is_sent_to_as_punycode(stack, frozen_clock) -> None:
    assert deliver(_notice("ana@müller.de")).outcome is Outcome.SENT
    (mail,) = _sent(stack)
    assert str(mail["To"]) == "ana@xn--mller-kva.de"
    assert set(stack.sent_emails()[0].destinations) == {"ana@xn--mller-kva.de"}


# ---------------------------------------------------------------- ambiguous SES outcomes


def _accepted_then_timed_out(real: Any) -> Any:
    def send(**request: Any) -> Any:
        real(**request)  # SES accepted it (moto keeps it in the outbox) ...
        raise ReadTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com")  # ... we never heard

    return send


def _send_event(ledger_tag: str, ses_message_id: str) -> dict[str, Any]:
    return {
        "eventType": "Send",
        "mail": {
            "timestamp": "2026-11-23T10:00:01.000Z",
            "source": "crm@example.com",
            "messageId": ses_message_id,
            "destination": ["ana@example.com"],
            "tags": {ledger.TAG_NAME: [ledger_tag], "ses:configuration-set": ["crm"]},
        },
        "send": {},
    }


def test_a_send_timed_out_after_ses_accepted_it_is_not_sent_again_within_the_window(
    stack, frozen_clock, lambda_context
) -> None:
    message = _notice("ana@example.com")
    key = ledger.message_key(message.contact_id, message.kind, message.occurrence)
    real = aws.sesv2().send_email
    with mock.patch.object(aws.sesv2(), "send_email", side_effect=_accepted_then_timed_out(real)) as sent:
        unknown = deliver(message)
    assert (unknown.outcome, unknown.reason) == (Outcome.FAILED, "outcome-unknown: ReadTimeoutError")
    # moto ignores EmailTags: the tag that lets SES's Send event name the ledger item is read off the request.
    (call,) = sent.call_args_list
    tag = call.kwargs["EmailTags"][0]
    assert tag["Name"] == ledger.TAG_NAME and ledger.key_from_tag(tag["Value"]) == key

    frozen_clock.advance(timedelta(minutes=30))
    before_window = deliver(message)
    assert before_window.outcome is Outcome.DUPLICATE and before_window.reason == "in-progress"
    assert before_window.retry_at == datetime(2026, 11, 23, 11, tzinfo=UTC)
    assert len(stack.sent_emails()) == 1

    ses_id = stack.sent_emails()[0].id
    handler = load_handler("handle_ses_notifications").lambda_handler
    assert handler(bus_event(_send_event(tag["Value"], ses_id)), lambda_context) == {"sends_recorded": 1}
    item = SentMessage.get(key)
    assert (item.status, item.ses_message_id, item.confirmed_by) == ("sent", ses_id, "Send")

    frozen_clock.advance(timedelta(hours=2))
    assert deliver(message).reason == "sent"
    assert len(stack.sent_emails()) == 1


def test_an_unknown_outcome_with_no_ses_record_is_resent_once_after_the_window(stack, frozen_clock) -> None:
    message = _notice("ana@example.com")
    real = aws.sesv2().send_email
    with mock.patch.object(aws.sesv2(), "send_email", side_effect=_accepted_then_timed_out(real)):
        deliver(message)

    frozen_clock.advance(timedelta(minutes=59))
    assert deliver(message).outcome is Outcome.DUPLICATE
    frozen_clock.advance(timedelta(minutes=2))
    resent = deliver(message)
    again = deliver(message)

    assert resent.outcome is Outcome.SENT
    assert (again.outcome, again.reason) == (Outcome.DUPLICATE, "sent")
    assert len(stack.sent_emails()) == 2  # the one SES took silently, and the resend: no third


def test_a_throttled_ledger_write_after_ses_accepted_is_retried_not_resent(stack, frozen_clock) -> None:
    throttled = UpdateError(
        "Failed to update item",
        cause=ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            "UpdateItem",
        ),
    )
    real_update = SentMessage.update
    failures = iter([throttled, throttled])

    def flaky_update(self: SentMessage, *args: Any, **kwargs: Any) -> Any:
        if self.status == "claimed" and (error := next(failures, None)) is not None:
            raise error
        return real_update(self, *args, **kwargs)

    with mock.patch.object(SentMessage, "update", flaky_update), mock.patch("time.sleep"):
        sent = deliver(_notice("ana@example.com"))

    assert sent.outcome is Outcome.SENT
    assert deliver(_notice("ana@example.com")).reason == "sent"
    assert len(stack.sent_emails()) == 1


def test_a_send_event_for_a_message_we_never_claimed_changes_nothing(
    stack, frozen_clock, lambda_context
) -> None:
    handler = load_handler("handle_ses_notifications").lambda_handler
    forged = ledger.tag_value("ct_x#welcome.1#1")
    assert forged is not None
    assert handler(bus_event(_send_event(forged, "m-1")), lambda_context) == {}
    assert list(SentMessage.scan()) == []
