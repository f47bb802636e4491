"""Inbound mail under moto: SES Lambda-action events over mail in the inbound bucket, through the handler."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError

from crm_core import aws
from crm_core.cases import store
from crm_core.cases.service import case_view
from crm_core.errors import RetryableError
from crm_core.models.cases import Case
from crm_core.models.contacts import Contact, contact_id_for
from tests.complaints import compose, ses_event
from tests.helpers import bus_listener, bus_received, load_handler


def _route(event, lambda_context) -> dict:
    (result,) = load_handler("route_complaint").lambda_handler(event, lambda_context)["cases"]
    return result


def _acks(stack) -> list:
    return [message_from_bytes(m.raw_data.encode(), policy=policy.default) for m in stack.sent_emails()]


def _helpdesk(stack) -> list[dict]:
    sqs = boto3.client("sqs")
    url = stack.env["CASE_QUEUE_URL"]
    found = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages"):
        for message in batch:
            found.append({**json.loads(message["Body"]), "_attrs": message.get("MessageAttributes", {})})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_a_complaint_becomes_a_routed_acknowledged_case_once_however_often_ses_delivers_it(
    stack, frozen_clock, lambda_context
) -> None:
    event = ses_event(compose())

    first = _route(event, lambda_context)
    second = _route(event, lambda_context)

    assert first["outcome"] == "created" and second["outcome"] == "duplicate"
    assert first["case_id"] == second["case_id"]
    case = store.get_case(first["case_id"])
    assert case is not None
    assert (case.status, case.category, case.team, case.locale) == ("open", "delivery", "logistics", "it")
    acks = _acks(stack)
    assert len(acks) == 1
    ack = acks[0]
    assert f"[Case #{case.case_id}]" in ack["Subject"]
    assert ack["Reply-To"].startswith(f"support+{case.case_id.lower()}.")
    assert "entro 8 ore" in ack.get_body(("plain",)).get_content()
    routed = _helpdesk(stack)
    assert [m["case_id"] for m in routed] == [case.case_id]
    assert routed[0]["_attrs"]["queue"]["StringValue"] == "logistics"
    assert Contact.get(contact_id_for("ana@example.it")).open_cases == 1


def test_a_reply_to_the_ack_threads_onto_the_case(stack, frozen_clock, lambda_context) -> None:
    opened = _route(ses_event(compose()), lambda_context)
    ack = _acks(stack)[0]
    reply = compose(
        subject=f"Re: {ack['Subject']}",
        body="Ecco il numero d'ordine: A-1001.",
        to=ack["Reply-To"],
        headers={"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"]},
    )

    threaded = _route(ses_event(reply, recipients=[ack["Reply-To"]]), lambda_context)

    assert threaded["outcome"] == "threaded"
    assert threaded["case_id"] == opened["case_id"]
    assert len(stack.sent_emails()) == 1  # no second acknowledgement
    case, events = store.case_and_events(opened["case_id"])
    assert [e.kind for e in events].count("inbound") == 2


def test_a_reply_on_a_case_is_engagement_for_the_lifecycle_but_the_first_mail_is_a_complaint(
    stack, frozen_clock, lambda_context
) -> None:
    url = bus_listener(stack, "intake-signals", ["crm.case.opened", "crm.engagement"])
    opened = _route(ses_event(compose()), lambda_context)
    ack = _acks(stack)[0]
    reply = compose(
        subject=f"Re: {ack['Subject']}",
        body="Ecco il numero d'ordine: A-1001.",
        to=ack["Reply-To"],
        headers={"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"]},
    )
    for _ in range(2):  # SES delivered the reply twice: the same engagement id both times
        _route(ses_event(reply, recipients=[ack["Reply-To"]]), lambda_context)

    events = bus_received(url)
    kinds = [e["detail-type"] for e in events]
    assert kinds.count("crm.case.opened") == 1 and kinds.count("crm.engagement") == 2
    replies = [e["detail"] for e in events if e["detail-type"] == "crm.engagement"]
    assert {r["what"] for r in replies} == {"reply"} and len({r["id"] for r in replies}) == 1
    assert replies[0]["id"].startswith(opened["case_id"] + "#")
    assert {r["contact_id"] for r in replies} == {contact_id_for("ana@example.it")}


def test_an_ack_failure_is_retried_and_the_ack_sent_once(stack, frozen_clock, lambda_context) -> None:
    event = ses_event(compose())
    throttled = ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow"}}, "SendEmail")
    # moto's SES never throttles: a fake raising what SES raises stands in for it.
    with mock.patch.object(aws.sesv2(), "send_email", side_effect=throttled), pytest.raises(RetryableError):
        _route(event, lambda_context)
    retried = _route(event, lambda_context)
    again = _route(event, lambda_context)

    assert retried["ack"] == "sent" and again["ack"] == "duplicate"
    assert len(stack.sent_emails()) == 1
    assert len(list(Case.by_contact.query(contact_id_for("ana@example.it")))) == 1


def _open(stack, lambda_context, **kw) -> tuple[dict, object]:
    opened = _route(ses_event(compose(**kw)), lambda_context)
    return opened, _acks(stack)[-1]


def test_a_stranger_quoting_the_case_number_opens_a_new_case(stack, frozen_clock, lambda_context) -> None:
    opened, _ = _open(stack, lambda_context)
    stranger = compose(
        sender="Eve <eve@elsewhere.example>", subject=f"Re: [Case #{opened['case_id']}] me too"
    )

    result = _route(ses_event(stranger), lambda_context)

    assert result["outcome"] == "created"
    assert result["case_id"] != opened["case_id"]


def test_the_contact_quoting_the_case_number_threads_even_from_a_new_message(
    stack, frozen_clock, lambda_context
) -> None:
    opened, _ = _open(stack, lambda_context)
    follow_up = compose(subject=f"Update [Case #{opened['case_id'].lower()}]", body="Ancora niente.")

    assert _route(ses_event(follow_up), lambda_context)["case_id"] == opened["case_id"]


def test_a_forged_reply_address_does_not_thread(stack, frozen_clock, lambda_context) -> None:
    opened, ack = _open(stack, lambda_context)
    forged = f"support+{opened['case_id'].lower()}.aaaaaaaaaa@example.com"
    mail = compose(sender="Eve <eve@elsewhere.example>", to=forged, subject="hello")

    result = _route(ses_event(mail, recipients=[forged]), lambda_context)

    assert result["outcome"] == "created"


def test_unverified_mail_never_threads_and_gets_no_ack(stack, frozen_clock, lambda_context) -> None:
    opened, ack = _open(stack, lambda_context)
    spoofed = compose(subject=f"Re: {ack['Subject']}", headers={"In-Reply-To": ack["Message-ID"]})

    result = _route(
        ses_event(spoofed, recipients=[ack["Reply-To"]], dmarc="FAIL", spf="FAIL"), lambda_context
    )

    assert result["outcome"] == "created" and result["case_id"] != opened["case_id"]
    assert result["ack"] == "none: unverified sender"
    assert store.get_case(result["case_id"]).unverified
    assert len(stack.sent_emails()) == 1


def test_an_out_of_office_reply_gets_no_ack_and_does_not_reopen(stack, frozen_clock, lambda_context) -> None:
    opened, ack = _open(stack, lambda_context)
    ooo = compose(
        subject=f"Risposta automatica: {ack['Subject']}",
        body="Sono in ferie.",
        headers={"Auto-Submitted": "auto-replied", "In-Reply-To": ack["Message-ID"]},
    )
    stray_ooo = compose(
        sender="Luca <luca@example.it>", subject="Out of office", headers={"X-Autoreply": "yes"}
    )

    threaded = _route(ses_event(ooo), lambda_context)
    stray = _route(ses_event(stray_ooo), lambda_context)

    assert threaded["case_id"] == opened["case_id"] and threaded["ack"].startswith("none")
    assert stray["outcome"] == "quarantined" and stray["ack"].startswith("none")
    assert len(stack.sent_emails()) == 1


def test_a_reply_to_a_resolved_case_reopens_it(stack, frozen_clock, lambda_context) -> None:
    from datetime import timedelta

    from crm_core.cases import service

    opened, ack = _open(stack, lambda_context)
    service.change_status(opened["case_id"], "resolved")
    assert Contact.get(contact_id_for("ana@example.it")).open_cases == 0
    frozen_clock.advance(timedelta(days=2))
    reply = compose(
        subject=f"Re: {ack['Subject']}", body="Di nuovo rotto!", headers={"In-Reply-To": ack["Message-ID"]}
    )

    result = _route(ses_event(reply), lambda_context)

    case = store.get_case(opened["case_id"])
    assert result["case_id"] == opened["case_id"]
    assert (case.status, case.reopened) == ("open", 1)
    assert Contact.get(contact_id_for("ana@example.it")).open_cases == 1


def test_acknowledgements_to_one_address_are_rate_limited(stack, frozen_clock, lambda_context) -> None:
    results = [
        _route(ses_event(compose(subject=f"Problema {n}", body=f"Messaggio numero {n}")), lambda_context)
        for n in range(5)
    ]
    assert [r["ack"] for r in results] == ["sent"] * 3 + ["none: rate-limited"] * 2
    assert len({r["case_id"] for r in results}) == 5


def test_a_gold_customer_gets_a_higher_priority_and_a_shorter_promise_in_their_language(
    stack, frozen_clock, lambda_context
) -> None:
    address = "klaus@example.de"
    Contact(contact_id_for(address), email=address, first_name="Klaus", tier="gold", locale="de").save()
    raw = compose(
        sender=f"Klaus <{address}>", subject="Lieferung", body="Meine Lieferung ist nicht angekommen."
    )

    result = _route(ses_event(raw), lambda_context)

    case = store.get_case(result["case_id"])
    assert (case.priority, case.team, case.tier) == ("P2", "logistics", "gold")  # P3 raised for value
    text = _acks(stack)[0].get_body(("plain",)).get_content()
    assert text.startswith("Guten Tag Klaus,") and "innerhalb von 4 Stunden" in text
    assert Contact.get(contact_id_for(address)).open_cases == 1


def test_a_most_valuable_customer_is_raised_and_agents_see_the_flag(
    stack, frozen_clock, lambda_context
) -> None:
    address = "mara@example.de"
    Contact(contact_id_for(address), email=address, first_name="Mara", most_valuable=True, locale="de").save()
    raw = compose(
        sender=f"Mara <{address}>", subject="Lieferung", body="Meine Lieferung ist nicht angekommen."
    )

    case = store.get_case(_route(ses_event(raw), lambda_context)["case_id"])

    assert (case.priority, case.tier, case.vip, case.most_valuable) == ("P2", None, False, True)
    assert case_view(case)["most_valuable"] is True  # what the cases API shows agents
