"""Data rights: a person's export and erasure across every table and bucket, through the two functions.

The proof test gives one person everything the CRM can store (a lead with consent, the welcome
message, an enrollment, a complaint case with its raw mail in S3, points, customer value and a
lifecycle stage, a low survey score with its case, an owner with a task and a note, a suppression),
erases them, then reads every table and bucket of the stack in full (a test-only Scan) and finds nothing
of them.
"""

from __future__ import annotations

import dataclasses
import io
import json
import time
import zipfile
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from crm_core.contacts.identity import contact_id_for
from crm_core.messaging import suppressions
from crm_core.privacy import registry
from tests.complaints import compose, ses_event
from tests.helpers import http_event, load_handler, scheduled
from tests.loyalty_helpers import EventSource, send
from tests.surveys_kit import answer as answer_survey
from tests.surveys_kit import score_links, send_due, surveys_in

EMAIL = "Annunziata.Quagliarella@Example.it"
FIRST, LAST, PHONE_DIGITS = "Annunziata", "Quagliarella", "3471234567"
SCHEDULED = scheduled("SendFollowupsFunctionEveryFiveMinutes")


def _staff_api(method: str, path: str, route: str, lambda_context, body: Any, *, key: str = "") -> int:
    headers = {"idempotency-key": key} if key else None
    event = http_event(method, path, body=body, headers=headers, route=route, iam=True)
    status: int = load_handler("serve_contacts").lambda_handler(event, lambda_context)["statusCode"]
    return status


@pytest.fixture
def person(stack, frozen_clock, lambda_context, template) -> str:
    """One person with a lead, consent, sent messages, enrollments, a case with raw mail, points, value
    and a lifecycle stage, a low survey score with its case, an owner with a task and a note."""
    lead = {
        "email": EMAIL,
        "first_name": FIRST,
        "last_name": LAST,
        "phone": "+39 347 123 4567",
        "company": "Quagliarella Srl",
        "consent": True,
        "birthday": "1980-05-17",
        "message": "Ciao!",
    }
    answer = load_handler("capture_lead").lambda_handler(
        http_event("POST", "/leads", body=lead), lambda_context
    )
    assert answer["statusCode"] == 201, answer
    load_handler("send_followups").lambda_handler(SCHEDULED, lambda_context)
    raw = compose(
        sender=f"{FIRST} {LAST} <{EMAIL}>",
        subject="Rimborso ordine",
        body=f"Sono {FIRST} {LAST}, tel. {PHONE_DIGITS}: rivoglio i soldi dell'ordine A-77.",
    )
    load_handler("route_complaint").lambda_handler(ses_event(raw), lambda_context)
    orders = EventSource.for_queue(
        template, "OrdersQueue", load_handler("update_loyalty").lambda_handler, lambda_context
    )
    send(
        orders.queue_url,
        {
            "event_id": "evt-77",
            "type": "purchase",
            "order_id": "A-77",
            "email": EMAIL,
            "amount": "120.00",
            "currency": "EUR",
            "occurred_at": "2026-11-23T09:00:00Z",
        },
    )
    orders.drain()
    contact_id = contact_id_for(EMAIL)
    for _ in range(5):  # the purchase's survey goes out a few days later
        frozen_clock.advance(timedelta(days=1))
        send_due(lambda_context)
    (survey,) = surveys_in(stack)
    low = answer_survey(score_links(survey)[1], 1, lambda_context, f"Pessimo. {FIRST}, tel. {PHONE_DIGITS}")
    assert low["statusCode"] == 200, low
    owner = {"owner": "giulia", "by": "Sara"}
    contact, route = f"/contacts/{contact_id}", "/contacts/{contact_id}"
    assert _staff_api("PUT", f"{contact}/owner", f"PUT {route}/owner", lambda_context, owner) == 200
    task = {"due": "2026-12-15", "note": f"Call {FIRST} {LAST} about A-77"}
    assert (
        _staff_api("POST", f"{contact}/tasks", f"POST {route}/tasks", lambda_context, task, key="t-1") == 201
    )
    note = {"text": f"{FIRST} prefers a call on {PHONE_DIGITS}", "author": "Sara"}
    assert (
        _staff_api("POST", f"{contact}/notes", f"POST {route}/notes", lambda_context, note, key="n-1") == 201
    )
    suppressions.suppress(EMAIL, scope="marketing", reason="unsubscribed", now=frozen_clock.now())
    return contact_id


def _privacy(method: str, path: str, route: str, lambda_context, headers=None) -> tuple[int, dict[str, Any]]:
    event = http_event(method, path, route=route, iam=True, headers=headers)
    answer = load_handler("serve_privacy").lambda_handler(event, lambda_context)
    return answer["statusCode"], json.loads(answer["body"])


def _worker(template, lambda_context) -> EventSource:
    handler = load_handler("process_privacy_requests").lambda_handler
    return EventSource.for_queue(template, "PrivacyQueue", handler, lambda_context)


def _everything(template) -> str:
    """Every item of every table and every version of every object of every bucket, as one text."""
    ddb, s3, parts = boto3.client("dynamodb"), boto3.client("s3"), []
    for logical_id, _ in template.of_type("AWS::DynamoDB::Table"):
        for page in ddb.get_paginator("scan").paginate(TableName=template.physical_name(logical_id)):
            parts.extend(json.dumps(item, ensure_ascii=False) for item in page["Items"])
    for logical_id, _ in template.of_type("AWS::S3::Bucket"):
        bucket = template.physical_name(logical_id)
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for version in page.get("Versions", []):
                body = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])[
                    "Body"
                ]
                parts.append(version["Key"] + "\n" + body.read().decode("utf-8", "replace"))
    return "\n".join(parts).lower()


def _left(text: str, contact_id: str) -> list[str]:
    """Each trace of the person found in `text`, with what surrounds it (the failure says where it is)."""
    found = []
    for trace in _traces(contact_id):
        at = text.find(trace)
        if at >= 0:
            found.append(f"{trace!r} in ...{text[max(0, at - 300) : at + 60]}...")
    return found


def _traces(contact_id: str) -> list[str]:
    return [
        EMAIL.lower(),
        "annunziata.quagliarella",
        FIRST.lower(),
        LAST.lower(),
        PHONE_DIGITS,
        "347 123 4567",
        contact_id,
    ]


def test_the_person_is_everywhere_before_erasure(person, template) -> None:
    contact = boto3.client("dynamodb").get_item(
        TableName=template.physical_name("ContactsTable"), Key={"contact_id": {"S": person}}
    )["Item"]
    assert {"value", "lifecycle", "lifecycle_review", "consent_log"} <= set(contact)  # the proof covers them
    text = _everything(template)
    found = [trace for trace in _traces(person) if trace in text]
    assert found == _traces(person)[:3] + [LAST.lower(), PHONE_DIGITS] + found[5:], found  # the probe works
    assert person in text


def test_erasure_leaves_nothing_of_the_person_in_any_table_or_bucket(
    person, template, lambda_context
) -> None:
    path, route = f"/contacts/{person}/erasure", "POST /contacts/{contact_id}/erasure"
    status, accepted = _privacy("POST", path, route, lambda_context)
    replay_status, replay = _privacy("POST", path, route, lambda_context)  # the caller retried
    assert status == replay_status == 202 and replay["request_id"] == accepted["request_id"]
    assert accepted["status"] == "pending" and accepted["request_id"] not in (person, EMAIL)

    _worker(template, lambda_context).drain()

    text = _everything(template)
    assert _left(text, person) == []
    status, done = _privacy(
        "GET", accepted["status_url"], "GET /privacy-requests/{request_id}", lambda_context
    )
    assert status == 200 and done["status"] == "done" and done["completed_at"]
    assert done["stores"]["ContactsTable"] == 1 and done["stores"]["InboundMailBucket"] >= 1
    assert done["stores"]["LoyaltyTable"] >= 3 and done["stores"]["MessagesTable"] >= 1
    assert done["stores"]["OwnersTable"] == 3  # the owner, the task, the note
    assert done["stores"]["SurveysTable"] >= 4  # invitation, last invitation, answer, its history

    again_status, again = _privacy("POST", path, route, lambda_context)  # posted again after it finished
    assert again_status == 202 and again["status"] == "done" and again["request_id"] == accepted["request_id"]


def test_what_erasure_keeps_is_pseudonymised_and_still_stops_mail(person, template, lambda_context) -> None:
    _privacy("POST", f"/contacts/{person}/erasure", "POST /contacts/{contact_id}/erasure", lambda_context)
    _worker(template, lambda_context).drain()

    kept = suppressions.suppression_for(EMAIL)
    assert kept is not None and kept.scope == "all" and kept.email.startswith("erased#")
    assert suppressions.blocks(kept, marketing=False)
    ddb = boto3.client("dynamodb")
    items = ddb.scan(TableName=template.physical_name("LoyaltyTable"))["Items"]
    # kept, as docs/data-rights.md says: the shop's event-id claims, the value claims without their
    # contact, and the value sketch (bucket counts of the whole base)
    claims = [
        i for i in items if i["contact_id"]["S"].startswith("value#") and i["entry_key"]["S"] == "value"
    ]
    assert [i["contact_id"]["S"] for i in claims] == ["value#evt-77"]
    assert "for_contact" not in claims[0]
    ledger = [i for i in items if not i["contact_id"]["S"].startswith(("event#", "value#"))]
    assert ledger and {i["contact_id"]["S"][:3] for i in ledger} == {"px_"}
    assert {i["entry_key"]["S"].split("#")[0] for i in ledger} == {"purchase"}  # balance and lots are gone
    cases = [
        i for i in ddb.scan(TableName=template.physical_name("CasesTable"))["Items"] if i["sk"]["S"] == "case"
    ]
    assert len(cases) == 2  # the complaint and the low survey score's case, under one pseudonym
    assert {c["status"]["S"] for c in cases} == {"resolved"}
    assert len({c["contact_id"]["S"] for c in cases}) == 1 and cases[0]["contact_id"]["S"].startswith("px_")
    notes = [
        i
        for i in ddb.scan(TableName=template.physical_name("CasesTable"))["Items"]
        if i["sk"]["S"].endswith("#status#erasure")
    ]
    assert len(notes) == 2 and all("erased" in n["detail"]["S"] for n in notes)
    assert ddb.scan(TableName=template.physical_name("EnrollmentsTable"))["Items"] == []
    review = ddb.scan(TableName=template.physical_name("ContactsTable"), IndexName="lifecycle-review")
    assert review["Items"] == []  # the pending lifecycle review went with the contact
    cases = ddb.scan(TableName=template.physical_name("CasesTable"))["Items"]
    assert [i for i in cases if i["pk"]["S"].startswith("survey#")] == []  # the low score's case link
    assert all(
        i["pk"]["S"].startswith("stats#")
        for i in ddb.scan(TableName=template.physical_name("SurveysTable"))["Items"]
    )
    assert all(
        i["pk"]["S"].startswith("rr#")
        for i in ddb.scan(TableName=template.physical_name("OwnersTable"))["Items"]
    )


def test_an_erasure_that_crashes_midway_is_finished_by_the_queues_retry(
    person, template, lambda_context, monkeypatch
) -> None:
    calls = {"n": 0}
    cases = next(s for s in registry.STORES if s.resource == "CasesTable")

    def crash_once(subject: registry.Subject, table: str) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the function's instance died here")
        return cases.erase(subject, table)

    crashing = tuple(dataclasses.replace(s, erase=crash_once) if s is cases else s for s in registry.STORES)
    monkeypatch.setattr(registry, "STORES", crashing)
    _, accepted = _privacy(
        "POST", f"/contacts/{person}/erasure", "POST /contacts/{contact_id}/erasure", lambda_context
    )
    worker = _worker(template, lambda_context)

    first = worker.deliver(worker.receive())
    assert len(first["batchItemFailures"]) == 1  # SQS makes the message visible again
    _, midway = _privacy("GET", accepted["status_url"], "GET /privacy-requests/{request_id}", lambda_context)
    assert midway["status"] == "running"
    assert set(midway["stores"]) == {
        "SuppressionsTable",
        "EnrollmentsTable",
        "ContactsTable",
        "MessagesTable",
        "InboundMailBucket",
    }

    worker.drain()

    _, done = _privacy("GET", accepted["status_url"], "GET /privacy-requests/{request_id}", lambda_context)
    assert done["status"] == "done" and calls["n"] == 2
    assert _left(_everything(template), person) == []


def test_export_is_one_archive_of_everything_with_the_raw_mail_behind_an_expiring_link(
    person, template, lambda_context
) -> None:
    path, route = f"/contacts/{person}/export", "POST /contacts/{contact_id}/export"
    headers = {"Idempotency-Key": "dsar-2026-11-23"}
    status, accepted = _privacy("POST", path, route, lambda_context, headers)
    _, replay = _privacy("POST", path, route, lambda_context, headers)
    assert status == 202 and replay["request_id"] == accepted["request_id"]

    _worker(template, lambda_context).drain()

    _, done = _privacy("GET", accepted["status_url"], "GET /privacy-requests/{request_id}", lambda_context)
    assert done["status"] == "done" and done["download_expires_in"] == 3600
    link = urlparse(done["download_url"])
    query = parse_qs(link.query)
    if "X-Amz-Expires" in query:  # SigV4 says how long; SigV2 (moto's S3) says until when
        assert query["X-Amz-Expires"] == ["3600"]
    else:
        assert abs(int(query["Expires"][0]) - (time.time() + 3600)) < 120
    bucket = template.physical_name("PrivacyExportsBucket")
    key = (
        link.path[1:] if link.netloc.startswith(bucket) else link.path.split("/", 2)[2]
    )  # virtual host or path
    archive = zipfile.ZipFile(
        io.BytesIO(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    )
    data = json.loads(archive.read("data.json"))
    stores = data["stores"]
    assert data["format"] == "crm-export/1" and set(stores) == {s.resource for s in registry.STORES}
    (contact,) = stores["ContactsTable"]["items"]
    assert (contact["first_name"], contact["last_name"]) == (FIRST, LAST)
    assert {i["entry_key"] for i in stores["LoyaltyTable"]["items"]} >= {"balance", "purchase#A-77"}
    assert stores["SuppressionsTable"]["items"][0]["reason"] == "unsubscribed"
    assert any(i.get("kind") == "inbound" for i in stores["CasesTable"]["items"])
    assert stores["MessagesTable"]["items"] and stores["EnrollmentsTable"]["items"]
    assert {i["sk"].split("#")[0] for i in stores["OwnersTable"]["items"]} == {"owner", "task", "note"}
    assert [i["score"] for i in stores["SurveysTable"]["items"] if i["sk"].startswith("answer#")] == [1]
    assert {i.get("for_contact") for i in stores["LoyaltyTable"]["items"] if i["entry_key"] == "value"} == {
        person
    }
    (mail,) = [n for n in archive.namelist() if n.startswith("mail/")]
    assert stores["InboundMailBucket"]["items"][0]["file"] == mail
    assert b"rivoglio i soldi" in archive.read(mail)


def test_requests_name_the_bad_field_and_an_unknown_contact_or_request(stack, lambda_context) -> None:
    status, body = _privacy(
        "POST", "/contacts/ct_nobody/erasure", "POST /contacts/{contact_id}/erasure", lambda_context
    )
    assert status == 404, body
    status, body = _privacy(
        "POST",
        "/contacts/ct_nobody/export",
        "POST /contacts/{contact_id}/export",
        lambda_context,
        {"Idempotency-Key": "k" * 200},
    )
    assert status == 400 and body["errors"][0]["field"] == "Idempotency-Key"
    status, body = _privacy(
        "GET", "/privacy-requests/er_unknown", "GET /privacy-requests/{request_id}", lambda_context
    )
    assert status == 404
    for hostile in ("x" * 3000, "é", "ct_%00"):
        status, body = _privacy(
            "GET", f"/privacy-requests/{hostile}", "GET /privacy-requests/{request_id}", lambda_context
        )
        assert status == 404, (hostile, body)
        status, body = _privacy(
            "POST", f"/contacts/{hostile}/erasure", "POST /contacts/{contact_id}/erasure", lambda_context
        )
        assert status in (400, 404) and body["errors"], (hostile, body)


def test_a_bounce_or_unsubscribe_after_erasure_does_not_write_the_address_again(
    person, template, lambda_context, frozen_clock
) -> None:
    _privacy("POST", f"/contacts/{person}/erasure", "POST /contacts/{contact_id}/erasure", lambda_context)
    _worker(template, lambda_context).drain()

    # the last welcome message bounces an hour later; SES reports it
    from tests.integration.messaging.test_ses_notifications import bus_event, example

    bounce = example("bounce-permanent.json")
    bounce["bounce"]["bouncedRecipients"][0]["emailAddress"] = EMAIL
    bounce["mail"]["destination"] = [EMAIL]
    load_handler("handle_ses_notifications").lambda_handler(bus_event(bounce), lambda_context)
    assert not suppressions.suppress(EMAIL, scope="marketing", reason="unsubscribed", now=frozen_clock.now())
    assert suppressions.count_transient_bounce(EMAIL, "feedback-1", now=frozen_clock.now()) == 0

    assert _left(_everything(template), person) == []
    assert suppressions.blocks(suppressions.suppression_for(EMAIL), marketing=False)
