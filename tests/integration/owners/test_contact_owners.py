"""Contact 360, account owners, tasks, notes and the owners' morning digest, through the handlers.

Every handler runs under its IAM role from template.yaml (tests.helpers.load_handler): a call AWS
would deny fails the test. Writes are replayed with the same event and must change nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from botocore.client import BaseClient

from crm_core.contacts.identity import contact_id_for
from crm_core.models.contacts import Contact
from crm_core.models.owners import OwnerAssignment, Task
from infra.local.events import sqs_record
from tests.complaints import compose, ses_event
from tests.helpers import http_event, load_handler, scheduled

SCHEDULED = scheduled("SendOwnerDigestsFunctionHourly", "2026-11-24T07:00:00Z")


def api(
    method: str, path: str, ctx: Any, body: Any = None, *, route: str, key: str | None = None, query=None
) -> tuple[int, Any, dict[str, str]]:
    headers = {"idempotency-key": key} if key else {}
    event = http_event(method, path, body=body, headers=headers, route=route, iam=True, query=query or "")
    answer = load_handler("serve_contacts").lambda_handler(event, ctx)
    return answer["statusCode"], json.loads(answer["body"]), answer.get("headers") or {}


def lead(ctx: Any, email: str, **fields: Any) -> str:
    body = {"email": email, "consent": True, "form_id": "contact", **fields}
    answer = load_handler("capture_lead").lambda_handler(http_event("POST", "/leads", body=body), ctx)
    assert answer["statusCode"] in (200, 201), answer
    return contact_id_for(email)


def purchase(stack: Any, ctx: Any, email: str, order_id: str, amount: str) -> dict[str, Any]:
    body = {
        "event_id": f"evt-{order_id}",
        "type": "purchase",
        "order_id": order_id,
        "email": email,
        "amount": amount,
        "currency": "EUR",
        "occurred_at": "2026-11-23T09:00:00Z",
    }
    message = {
        "MessageId": f"m-{order_id}",
        "ReceiptHandle": f"r-{order_id}",
        "Body": json.dumps(body),
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795428000000"},
        "MD5OfBody": "x",
    }
    record = sqs_record(message, queue_arn=stack.template.arn("OrdersQueue"), region="eu-west-1")
    answer: dict[str, Any] = load_handler("update_loyalty").lambda_handler({"Records": [record]}, ctx)
    assert answer.get("batchItemFailures") == [], answer
    return answer


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every DynamoDB operation made on the wire, in order."""
    seen: list[str] = []
    real = BaseClient._make_api_call

    def counting(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            seen.append(operation_name)
        return real(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    return seen


# ---- the contact 360 -----------------------------------------------------------------------------
def test_the_360_shows_everything_in_seven_calls_plus_one_per_case(
    stack, frozen_clock, lambda_context, calls
) -> None:
    # Given a contact with a welcome enrollment, a sent message, a large first order, a case and a note
    contact_id = lead(lambda_context, "ana@example.it", first_name="Ana", birthday="1990-11-24")
    followups = load_handler("send_followups").lambda_handler(
        {**SCHEDULED, "time": "2026-11-23T10:00:00Z"}, lambda_context
    )
    assert followups["outcomes"] == {"sent": 1}
    purchase(stack, lambda_context, "ana@example.it", "A-1001", "650.00")
    raw = compose(
        sender="Ana <ana@example.it>", subject="Rimborso", body="Vorrei il rimborso dell'ordine A-1001."
    )
    load_handler("route_complaint").lambda_handler(ses_event(raw), lambda_context)
    status, _, _ = api(
        "POST",
        f"/contacts/{contact_id}/notes",
        lambda_context,
        {"text": "Prefers calls after 5pm", "author": "Sara"},
        route="POST /contacts/{contact_id}/notes",
        key="n-1",
    )
    assert status == 201

    # When the 360 is read
    calls.clear()
    status, view, _ = api(
        "GET", f"/contacts/{contact_id}", lambda_context, route="GET /contacts/{contact_id}"
    )

    # Then one answer holds it all, for 7 DynamoDB calls plus one per case on the page
    assert status == 200
    assert len(view["cases"]["items"]) == 1
    assert len(calls) == 7 + 1, calls
    assert calls.count("Scan") == 0
    assert view["profile"]["email"] == "ana@example.it" and view["profile"]["first_name"] == "Ana"
    assert view["field_sources"]["first_name"] == "form"
    assert view["consent"]["current"]["granted"] is True
    assert view["consent"]["history"][0]["event"] == "granted"
    assert view["suppression"] is None
    assert [(e["campaign"], e["step"]) for e in view["enrollments"] if e["campaign"] == "welcome"] == [
        ("welcome", 1)
    ]
    kinds = {m["kind"]: m for m in view["messages"]["items"]}
    assert kinds["welcome.hello"]["outcome"] == "sent" and kinds["welcome.hello"]["ses_message_id"]
    (case,) = view["cases"]["items"]
    assert case["status"] == "open" and case["priority"] and case["last_event"]["kind"] in {"ack", "inbound"}
    assert view["loyalty"]["balance"] > 0 and view["loyalty"]["entries"]["items"][0]["order_id"] == "A-1001"
    assert view["owner"]["id"] in {"giulia", "jonas"}  # round-robin in key-accounts: 650 >= 500
    assert view["owner"]["set_by"] == "round-robin:key-accounts"
    assert [t["created_by"] for t in view["open_tasks"]] == ["rule:first-purchase"]
    assert [line["type"] for line in view["timeline"]].count("note") == 1
    assert "ana@example.it" not in json.dumps(view["timeline"])


def test_a_contact_is_found_by_its_address_as_normalized_everywhere(
    stack, frozen_clock, lambda_context
) -> None:
    contact_id = lead(lambda_context, "bruno@exämple.de")

    status, view, _ = api(
        "GET", "/contacts", lambda_context, route="GET /contacts", query={"email": " Bruno@EXÄMPLE.de "}
    )
    assert (status, view["contact_id"]) == (200, contact_id)

    assert (
        api("GET", "/contacts", lambda_context, route="GET /contacts", query={"email": "nobody@example.com"})[
            0
        ]
        == 404
    )
    status, body, _ = api("GET", "/contacts", lambda_context, route="GET /contacts", query={"email": "nope"})
    assert status == 400 and body["errors"][0]["field"] == "email"


def test_pages_of_messages_follow_their_cursor_and_a_forged_cursor_is_refused(
    stack, frozen_clock, lambda_context, monkeypatch
) -> None:
    from crm_core.contacts import view as view_module
    from crm_core.messaging import ledger

    contact_id = lead(lambda_context, "carla@example.it")
    for n in range(3):
        ledger.mark_skipped(contact_id, f"test.{n}", "1", "test", now=datetime(2026, 11, 20 + n, tzinfo=UTC))
    monkeypatch.setattr(view_module, "MESSAGES_PAGE", 2)
    route = "GET /contacts/{contact_id}"

    _, first, _ = api("GET", f"/contacts/{contact_id}", lambda_context, route=route)
    cursor = first["messages"]["next_cursor"]
    _, second, _ = api(
        "GET", f"/contacts/{contact_id}", lambda_context, route=route, query={"messages_cursor": cursor}
    )

    kinds = [m["kind"] for m in first["messages"]["items"] + second["messages"]["items"]]
    assert kinds == ["test.2", "test.1", "test.0"]  # newest first, each once
    other = lead(lambda_context, "dario@example.it")
    status, body, _ = api(
        "GET", f"/contacts/{other}", lambda_context, route=route, query={"messages_cursor": cursor}
    )
    assert status == 400 and body["errors"][0]["field"] == "messages_cursor"


# ---- owners ----------------------------------------------------------------------------------------
def test_an_agent_sets_the_owner_and_a_replay_changes_nothing(stack, frozen_clock, lambda_context) -> None:
    contact_id = lead(lambda_context, "elena@example.it")
    route = "PUT /contacts/{contact_id}/owner"

    first = api(
        "PUT", f"/contacts/{contact_id}/owner", lambda_context, {"owner": "putri", "by": "Sara"}, route=route
    )
    frozen_clock.advance(timedelta(minutes=5))
    again = api(
        "PUT", f"/contacts/{contact_id}/owner", lambda_context, {"owner": "putri", "by": "Sara"}, route=route
    )

    assert first[0] == again[0] == 200 and first[1] == again[1]
    assert first[1]["name"] == "Putri Santoso" and first[1]["time_zone"] == "Asia/Jakarta"
    bad = api("PUT", f"/contacts/{contact_id}/owner", lambda_context, {"owner": "nobody"}, route=route)
    assert bad[0] == 400 and bad[1]["errors"][0]["field"] == "owner"
    assert api("PUT", "/contacts/ct_missing/owner", lambda_context, {"owner": "putri"}, route=route)[0] == 404


def test_a_routing_rule_owns_a_company_customer_and_a_replayed_order_changes_nothing(
    stack, frozen_clock, lambda_context
) -> None:
    contact_id = lead(lambda_context, "buyer@acme.example")

    purchase(stack, lambda_context, "buyer@acme.example", "B-1", "120.00")
    purchase(stack, lambda_context, "buyer@acme.example", "B-1", "120.00")  # SQS delivered it twice

    owner = OwnerAssignment.get(f"contact#{contact_id}", "owner")
    assert (owner.owner_key, owner.set_by) == ("jonas", "rule:acme-account")
    assert list(Task.query(f"contact#{contact_id}", Task.sk.startswith("task#"))) == []  # 120 < 300


def test_round_robin_takes_turns_and_a_small_first_order_gets_no_owner(
    stack, frozen_clock, lambda_context
) -> None:
    owners = []
    for n in range(2):
        email = f"big{n}@example.org"
        lead(lambda_context, email)
        purchase(stack, lambda_context, email, f"C-{n}", "900.00")
        owners.append(OwnerAssignment.get(f"contact#{contact_id_for(email)}", "owner").owner_key)
    small = lead(lambda_context, "small@example.org")
    purchase(stack, lambda_context, "small@example.org", "C-9", "20.00")

    assert sorted(owners) == ["giulia", "jonas"]
    with pytest.raises(OwnerAssignment.DoesNotExist):
        OwnerAssignment.get(f"contact#{small}", "owner")


def test_a_complaint_from_a_most_valuable_customer_becomes_a_task_for_the_owner(
    stack, frozen_clock, lambda_context
) -> None:
    contact_id = lead(lambda_context, "vip@example.it", first_name="Vera")
    Contact(contact_id).update(actions=[Contact.vip.set(True)], add_version_condition=False)
    api(
        "PUT",
        f"/contacts/{contact_id}/owner",
        lambda_context,
        {"owner": "giulia"},
        route="PUT /contacts/{contact_id}/owner",
    )
    event = ses_event(
        compose(sender="Vera <vip@example.it>", subject="Pacco rotto", body="Il pacco è arrivato rotto.")
    )

    handler = load_handler("route_complaint").lambda_handler
    handler(event, lambda_context)
    handler(event, lambda_context)  # SES retried the invocation

    tasks = list(Task.query(f"contact#{contact_id}", Task.sk.startswith("task#")))
    assert [(t.created_by, t.owner, t.due) for t in tasks] == [("rule:vip-complaint", "giulia", "2026-11-23")]


# ---- tasks and notes -------------------------------------------------------------------------------
def test_tasks_are_created_once_per_key_listed_completed_and_snoozed(
    stack, frozen_clock, lambda_context
) -> None:
    contact_id = lead(lambda_context, "fabio@example.it")
    api(
        "PUT",
        f"/contacts/{contact_id}/owner",
        lambda_context,
        {"owner": "giulia"},
        route="PUT /contacts/{contact_id}/owner",
    )
    create = "POST /contacts/{contact_id}/tasks"
    path = f"/contacts/{contact_id}/tasks"
    request = {"due": "2026-11-25", "note": "Call about the order"}

    first = api("POST", path, lambda_context, request, route=create, key="t-1")
    again = api("POST", path, lambda_context, request, route=create, key="t-1")
    reused = api("POST", path, lambda_context, {**request, "due": "2026-11-26"}, route=create, key="t-1")
    no_key = api("POST", path, lambda_context, request, route=create)
    bad = api("POST", path, lambda_context, {"due": "tomorrow", "owner": "x"}, route=create, key="t-2")

    assert (first[0], again[0]) == (201, 201) and first[1] == again[1]
    assert again[2].get("Idempotent-Replayed") == "true"
    assert first[1]["owner"] == "giulia" and first[1]["status"] == "open"
    assert reused[0] == 409 and reused[1]["errors"][0]["field"] == "Idempotency-Key"
    assert no_key[0] == 400 and no_key[1]["errors"][0]["field"] == "Idempotency-Key"
    assert bad[0] == 400 and {e["field"] for e in bad[1]["errors"]} == {"due", "owner"}

    task_id = first[1]["task_id"]
    snooze = "POST /contacts/{contact_id}/tasks/{task_id}/snooze"
    snoozed = api("POST", f"{path}/{task_id}/snooze", lambda_context, {"until": "2026-11-30"}, route=snooze)
    snoozed_again = api(
        "POST", f"{path}/{task_id}/snooze", lambda_context, {"until": "2026-11-30"}, route=snooze
    )
    assert snoozed[1]["due"] == "2026-11-30" and snoozed_again[1]["snoozes"] == 1
    past = api("POST", f"{path}/{task_id}/snooze", lambda_context, {"until": "2026-11-01"}, route=snooze)
    assert past[0] == 400 and past[1]["errors"][0]["field"] == "until"

    complete = "POST /contacts/{contact_id}/tasks/{task_id}/complete"
    done = api("POST", f"{path}/{task_id}/complete", lambda_context, route=complete)
    done_again = api("POST", f"{path}/{task_id}/complete", lambda_context, route=complete)
    assert done[1]["status"] == "done" and done_again[1] == done[1]
    assert (
        Task.get(f"contact#{contact_id}", f"task#{task_id}").open_owner is None
    )  # left the open-tasks index
    assert (
        api("POST", f"{path}/{task_id}/snooze", lambda_context, {"until": "2026-12-30"}, route=snooze)[0]
        == 409
    )

    listed = api(
        "GET", path, lambda_context, route="GET /contacts/{contact_id}/tasks", query={"status": "done"}
    )
    assert [t["task_id"] for t in listed[1]["tasks"]] == [task_id]


def test_a_task_needs_an_owner_and_a_note_is_added_once_per_key(stack, frozen_clock, lambda_context) -> None:
    contact_id = lead(lambda_context, "gino@example.it")
    orphan = api(
        "POST",
        f"/contacts/{contact_id}/tasks",
        lambda_context,
        {"due": "2026-11-25"},
        route="POST /contacts/{contact_id}/tasks",
        key="k",
    )
    assert orphan[0] == 400 and orphan[1]["errors"][0]["field"] == "owner"

    route, path = "POST /contacts/{contact_id}/notes", f"/contacts/{contact_id}/notes"
    note = {"text": "Met at the fair", "author": "Sara"}
    first = api("POST", path, lambda_context, note, route=route, key="n-1")
    again = api("POST", path, lambda_context, note, route=route, key="n-1")
    empty = api("POST", path, lambda_context, {"author": ""}, route=route, key="n-2")

    assert first[1] == again[1] and again[2].get("Idempotent-Replayed") == "true"
    assert empty[0] == 400 and {e["field"] for e in empty[1]["errors"]} == {"text", "author"}
    _, view, _ = api("GET", f"/contacts/{contact_id}", lambda_context, route="GET /contacts/{contact_id}")
    assert [(line["type"], line.get("text")) for line in view["timeline"] if line["type"] == "note"] == [
        ("note", "Met at the fair")
    ]


# ---- the morning digest ----------------------------------------------------------------------------
def test_the_morning_digest_goes_once_in_the_owners_language_and_not_when_there_is_nothing(
    stack, frozen_clock, lambda_context
) -> None:
    # Given Giulia (Europe/Rome, Italian) owns a vip customer whose birthday is tomorrow, and has a task due
    contact_id = lead(lambda_context, "vip2@example.it", first_name="Livia", birthday="1985-11-25")
    Contact(contact_id).update(actions=[Contact.vip.set(True)], add_version_condition=False)
    set_owner = "PUT /contacts/{contact_id}/owner"
    api("PUT", f"/contacts/{contact_id}/owner", lambda_context, {"owner": "giulia"}, route=set_owner)
    api(
        "POST",
        f"/contacts/{contact_id}/tasks",
        lambda_context,
        {"due": "2026-11-23", "note": "Send the catalogue"},
        route="POST /contacts/{contact_id}/tasks",
        key="t-1",
    )
    handler = load_handler("send_owner_digests").lambda_handler
    before = len(stack.sent_emails())

    # When the hourly run fires at 07:00 UTC (08:00 in Rome and Berlin), twice
    frozen_clock.set(datetime(2026, 11, 24, 7, 0, tzinfo=UTC))
    first = handler(SCHEDULED, lambda_context)
    again = handler(SCHEDULED, lambda_context)

    # Then Giulia gets one digest in Italian; Jonas, who has nothing, gets none; Putri's morning is not now
    assert first["digests"] == {"giulia": "sent", "jonas": "empty"}
    assert again["digests"] == {"giulia": "duplicate", "jonas": "duplicate"}
    mails = stack.sent_emails()[before:]
    assert len(mails) == 1
    mail = message_from_bytes(
        mails[0].raw_data.encode() if isinstance(mails[0].raw_data, str) else mails[0].raw_data,
        policy=policy.default,
    )
    assert mail["To"] == "giulia.rossi@example.com"
    text = mail.get_body(("plain",)).get_content()
    assert (
        "Buongiorno Giulia" in text and "Send the catalogue" in text and "in ritardo dal 2026-11-23" in text
    )
    assert "2026-11-25 Livia: compleanno" in text
    assert "Birthday tomorrow" in text  # the vip-birthday rule made a task, due today
    tasks = [t.created_by for t in Task.query(f"contact#{contact_id}", Task.sk.startswith("task#"))]
    assert sorted(tasks) == ["api", "rule:vip-birthday"]


def test_the_360_shows_the_consent_history_grant_unsubscribe_and_renewed_request(
    stack, frozen_clock, lambda_context
) -> None:
    from urllib.parse import urlsplit

    from crm_core.messaging.delivery import unsubscribe_url

    contact_id = lead(lambda_context, "hanna@example.de")
    link = urlsplit(unsubscribe_url(contact_id, "welcome.hello"))
    event = http_event(
        "POST", link.path, query=link.query, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    frozen_clock.advance(timedelta(hours=1))
    load_handler("unsubscribe").lambda_handler(event, lambda_context)
    load_handler("unsubscribe").lambda_handler(event, lambda_context)  # one-click sent twice
    frozen_clock.advance(timedelta(hours=1))
    lead(
        lambda_context, "hanna@example.de", form_id="newsletter"
    )  # consent again after an opt-out: confirm first

    _, view, _ = api("GET", f"/contacts/{contact_id}", lambda_context, route="GET /contacts/{contact_id}")

    history = [(e["event"], e["at"], e.get("source")) for e in view["consent"]["history"]]
    assert history == [
        ("granted", "2026-11-23T10:00:00Z", "form"),
        ("unsubscribed", "2026-11-23T11:00:00Z", "link"),
        ("confirmation-requested", "2026-11-23T12:00:00Z", "form"),
    ]
    assert view["consent"]["marketing_opt_out"] is True and view["suppression"]["reason"] == "unsubscribed"


def test_an_id_no_key_could_hold_is_a_404_not_a_500(stack, frozen_clock, lambda_context) -> None:
    huge = "ct_" + "x" * 3000
    assert api("GET", f"/contacts/{huge}", lambda_context, route="GET /contacts/{contact_id}")[0] == 404
    route = "POST /contacts/{contact_id}/tasks/{task_id}/complete"
    contact_id = lead(lambda_context, "ivo@example.it")
    assert (
        api("POST", f"/contacts/{contact_id}/tasks/{'t' * 3000}/complete", lambda_context, route=route)[0]
        == 404
    )


def test_the_360_finds_the_suppression_of_an_address_stored_with_capitals(
    stack, frozen_clock, lambda_context
) -> None:
    # The contact keeps the address as written (Hanna.Berg@Example.DE); suppressions are keyed by the
    # normalized address, as every other lookup of them is.
    from crm_core.messaging import suppressions

    contact_id = lead(lambda_context, "Hanna.Berg@Example.DE")
    suppressions.suppress("hanna.berg@example.de", scope="all", reason="Complaint", now=frozen_clock.now())

    _, view, _ = api("GET", f"/contacts/{contact_id}", lambda_context, route="GET /contacts/{contact_id}")

    assert view["suppression"] is not None and view["suppression"]["reason"] == "Complaint"
