"""Hostile inbound mail: however long, wide or deep a message is, it becomes a case or a quarantine
with a reason, quickly, and every stored field stays within its documented limit."""

from __future__ import annotations

import json
import time
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from crm_core.cases import limits, store
from crm_core.models.cases import CaseEvent
from infra.aws_rules.limits import MAX_ITEM_BYTES, item_size
from tests.complaints import compose, ses_event
from tests.helpers import load_handler


def _route(event, lambda_context) -> dict:
    (result,) = load_handler("route_complaint").lambda_handler(event, lambda_context)["cases"]
    return result


def _inbound_event(case_id: str) -> CaseEvent:
    _, events = store.case_and_events(case_id)
    (event,) = [e for e in events if e.kind == "inbound"]
    return event


def _multipart(parts: list[bytes], subject: str = "Allegati") -> bytes:
    head = (
        b"From: Ana <ana@example.it>\r\nTo: support@example.com\r\nSubject: " + subject.encode() + b"\r\n"
        b"Message-ID: <many@example.it>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n'
        b"--b0\r\nContent-Type: text/plain\r\n\r\nIl pacco e' rotto, vedi allegati.\r\n"
    )
    return head + b"".join(b"--b0\r\n" + p for p in parts) + b"--b0--\r\n"


def test_a_subject_of_half_a_megabyte_becomes_a_case_with_the_subject_bounded(
    stack, frozen_clock, lambda_context
) -> None:
    raw = compose().replace(b"Subject: ", b"Subject: Reclamo " + b"lunghissimo " * 45_000, 1)

    result = _route(ses_event(raw), lambda_context)

    assert result["outcome"] == "created"
    case = store.get_case(result["case_id"])
    event = _inbound_event(result["case_id"])
    assert len(case.subject) <= limits.SUBJECT_CHARS
    assert len(event.subject or "") <= limits.SUBJECT_CHARS
    assert item_size(event.serialize()) < MAX_ITEM_BYTES


def test_hundreds_of_attachments_become_a_case_listing_a_bounded_number(
    stack, frozen_clock, lambda_context
) -> None:
    attachment = (
        b"Content-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="' + b"foto-" * 60 + b'%d.jpg"\r\n\r\nxx\r\n'
    )
    raw = _multipart([attachment % n for n in range(400)])

    result = _route(ses_event(raw), lambda_context)

    assert result["outcome"] == "created"
    detail = json.loads(_inbound_event(result["case_id"]).detail)
    assert len(detail["attachments"]) == limits.ATTACHMENTS_LISTED
    assert detail["attachments_omitted"] == 400 - limits.ATTACHMENTS_LISTED
    assert all(len(a["name"]) <= limits.ATTACHMENT_NAME_CHARS for a in detail["attachments"])


def test_tens_of_thousands_of_tiny_parts_are_quarantined_quickly_with_the_reason(
    stack, frozen_clock, lambda_context
) -> None:
    event = ses_event(_multipart([b"Content-Type: text/plain\r\n\r\nx\r\n"] * 30_000))

    started = time.monotonic()
    result = _route(event, lambda_context)
    elapsed = time.monotonic() - started

    assert result["outcome"] == "quarantined"
    assert "too complex" in result["reason"] and f"{limits.MAX_PARTS}" in result["reason"]
    assert elapsed < 3


def test_thousands_of_attachments_are_quarantined_with_the_reason(
    stack, frozen_clock, lambda_context
) -> None:
    attachment = (
        b'Content-Type: image/jpeg\r\nContent-Disposition: attachment; filename="f%d.jpg"\r\n\r\nxx\r\n'
    )
    event = ses_event(_multipart([attachment % n for n in range(3_000)]))

    result = _route(event, lambda_context)

    assert result["outcome"] == "quarantined" and "too complex" in result["reason"]
    assert result["ack"].startswith("none")


def test_deeply_nested_multiparts_are_quarantined_with_the_reason(
    stack, frozen_clock, lambda_context
) -> None:
    depth = 200
    opening = b"".join(
        b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (n, n + 1) for n in range(depth)
    )
    closing = b"".join(b"--b%d--\r\n" % n for n in range(depth, -1, -1))
    raw = (
        b"From: Ana <ana@example.it>\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n' + opening + closing
    )

    result = _route(ses_event(raw), lambda_context)

    assert result["outcome"] == "quarantined" and "too complex" in result["reason"]


def test_a_message_the_table_still_refuses_is_quarantined_with_the_reason_not_lost(
    stack, frozen_clock, lambda_context
) -> None:
    refused = ClientError(
        {
            "Error": {
                "Code": "ValidationException",
                "Message": "Item size has exceeded the maximum allowed size",
            }
        },
        "TransactWriteItems",
    )
    real = store.record_inbound
    calls = iter([refused])

    def first_refused(**kwargs):
        failure = next(calls, None)
        if failure is not None:
            raise failure
        return real(**kwargs)

    with mock.patch.object(store, "record_inbound", side_effect=first_refused):
        result = _route(ses_event(compose()), lambda_context)

    assert result["outcome"] == "quarantined"
    assert result["reason"].startswith("not storable")
    assert store.get_case(result["case_id"]).status == "quarantined"


@pytest.mark.parametrize("field", ["sender", "message_id"])
def test_absurdly_long_addresses_and_ids_are_bounded(stack, frozen_clock, lambda_context, field) -> None:
    long = "a" * 5_000
    raw = (
        compose(sender=f"Ana <{long}@example.it>")
        if field == "sender"
        else compose(headers={"In-Reply-To": f"<{long}@x>"}).replace(
            b"Message-ID: <", b"Message-ID: <" + long.encode()
        )
    )

    result = _route(ses_event(raw), lambda_context)

    assert result["outcome"] in {"created", "quarantined"}
    case = store.get_case(result["case_id"])
    event = _inbound_event(result["case_id"])
    assert len(case.email) <= limits.ADDRESS_CHARS and len(event.from_address or "") <= limits.ADDRESS_CHARS
    assert len(event.message_id or "") <= limits.MESSAGE_ID_CHARS
    assert len(case.last_message_id or "") <= limits.MESSAGE_ID_CHARS


def test_the_ack_cap_is_a_sliding_hour_not_a_clock_hour(stack, frozen_clock, lambda_context) -> None:
    from datetime import UTC, datetime, timedelta

    frozen_clock.set(datetime(2026, 11, 23, 10, 59, 10, tzinfo=UTC))

    def one(n: int) -> str:
        raw = compose(subject=f"Problema {n}", body=f"Messaggio numero {n}")
        return _route(ses_event(raw), lambda_context)["ack"]

    before = [one(n) for n in range(3)]
    frozen_clock.advance(timedelta(seconds=80))  # 11:00:30: a new clock hour, the same sliding hour
    across = [one(n) for n in range(3, 6)]
    frozen_clock.set(datetime(2026, 11, 23, 11, 59, 20, tzinfo=UTC))  # the first three left the window
    later = one(6)

    assert before == ["sent"] * 3
    assert across == ["none: rate-limited"] * 3
    assert later == "sent"


@pytest.mark.parametrize("verdict", ["GRAY", "PROCESSING_FAILED"])
def test_a_sender_whose_mail_did_not_pass_dmarc_never_threads_by_subject_nor_gets_an_ack(
    stack, frozen_clock, lambda_context, verdict
) -> None:
    opened = _route(ses_event(compose()), lambda_context)
    forged = compose(subject=f"Re: [Case #{opened['case_id']}] cambiate l'indirizzo", body="Nuovo indirizzo")

    result = _route(ses_event(forged, dmarc=verdict, spf=verdict, dkim=verdict), lambda_context)

    assert result["outcome"] == "created" and result["case_id"] != opened["case_id"]
    assert result["ack"] == "none: unverified sender"
    assert store.get_case(result["case_id"]).unverified
    assert len(stack.sent_emails()) == 1  # only the first case's ack


def test_spf_pass_alone_does_not_verify_the_from_address(stack, frozen_clock, lambda_context) -> None:
    result = _route(ses_event(compose(), spf="PASS", dkim="GRAY", dmarc="GRAY"), lambda_context)

    assert result["ack"] == "none: unverified sender"


@pytest.mark.parametrize("own", ["sender", "support", "support+c-abc123.zzzzzzzzzz"])
def test_mail_from_our_own_addresses_never_opens_a_case_nor_an_ack(
    stack, frozen_clock, lambda_context, own
) -> None:
    from crm_core.settings import get_settings

    settings = get_settings()
    address = {
        "sender": settings.sender_address,
        "support": settings.support_address,
    }.get(own) or settings.support_address.replace("support@", own + "@")
    raw = compose(sender=f"Support <{address}>", subject="Re: Il pacco non è arrivato")

    result = _route(ses_event(raw), lambda_context)

    assert result["outcome"] == "quarantined" and result["reason"].startswith("loop")
    assert result["ack"].startswith("none")
    assert stack.sent_emails() == []


@pytest.mark.parametrize(
    ("subject", "headers"),
    [
        ("AW: Abwesenheitsnotiz", {}),
        ("Réponse automatique : Votre demande", {}),
        ("Autosvar: Ferie", {}),
        ("Automatische Antwort: Ihre Anfrage", {}),
        ("RE: Risposta automatica: Il pacco", {}),
        ("Balasan otomatis: Pesanan", {}),
        ("Automatic reply: your order", {}),
        ("Fuori sede", {}),
        ("Tidak di kantor", {}),
        ("Hello", {"X-Autogenerated": "Reply"}),
        ("Hello", {"X-Autoreply": "yes"}),
        ("Hello", {"Auto-Submitted": "auto-replied"}),
        ("Hello", {"Precedence": "auto_reply"}),
        ("Hello", {"X-Auto-Response-Suppress": "All"}),
        ("Hello", {"X-Autorespond": "yes"}),
        ("Hello", {"X-MS-Exchange-Inbox-Rules-Loop": "ana@example.it"}),
    ],
)
def test_out_of_office_and_auto_replies_get_no_ack(
    stack, frozen_clock, lambda_context, subject, headers
) -> None:
    result = _route(ses_event(compose(subject=subject, headers=headers)), lambda_context)

    assert result["ack"].startswith("none"), result
    assert stack.sent_emails() == []
