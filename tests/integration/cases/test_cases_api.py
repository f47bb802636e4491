"""The case API (serve_cases) with API Gateway v2 events: read, list, change status, reply to the customer."""

from __future__ import annotations

import base64
import json
from email import message_from_bytes, policy
from typing import Any

import pytest

from tests.complaints import compose, ses_event
from tests.helpers import bus_listener, bus_received, load_handler


def _http(method: str, path: str, lambda_context, body: Any = None, *, query=None, headers=None, b64=False):
    raw = json.dumps(body) if body is not None else None
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "queryStringParameters": query,
        "headers": {"content-type": "application/json", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "t",
            },
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:10:00:00 +0000",
            "timeEpoch": 0,
        },
        "body": base64.b64encode(raw.encode()).decode() if (raw and b64) else raw,
        "isBase64Encoded": b64,
    }
    response = load_handler("serve_cases").lambda_handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


@pytest.fixture
def case_id(stack, frozen_clock, lambda_context) -> str:
    raw = compose(subject="Rimborso", body="Vorrei il rimborso dell'ordine A-1001, addebitato due volte.")
    (result,) = load_handler("route_complaint").lambda_handler(ses_event(raw), lambda_context)["cases"]
    return result["case_id"]


def test_get_a_case_with_its_events(case_id, lambda_context) -> None:
    status, body = _http("GET", f"/cases/{case_id}", lambda_context)
    assert status == 200
    assert body["case_id"] == case_id and body["team"] == "billing"
    assert sorted(e["kind"] for e in body["events"]) == ["ack", "inbound"]  # same instant on a frozen clock
    assert _http("GET", "/cases/C-000000", lambda_context)[0] == 404


def test_an_agent_reply_is_emailed_threaded_once_and_the_answer_lands_on_the_case(
    stack, case_id, lambda_context
) -> None:
    request = {
        "text": "Abbiamo disposto il rimborso.\n\nArriverà in 5 giorni.",
        "agent": "Sara",
        "status": "waiting",
    }
    first = _http(
        "POST",
        f"/cases/{case_id}/replies",
        lambda_context,
        request,
        headers={"idempotency-key": "r-1"},
        b64=True,
    )
    again = _http(
        "POST", f"/cases/{case_id}/replies", lambda_context, request, headers={"idempotency-key": "r-1"}
    )

    assert first[0] == 200 and again[0] == 200
    assert first[1]["status"] == "waiting" and first[1]["first_responded_at"]
    sent = [message_from_bytes(m.raw_data.encode(), policy=policy.default) for m in stack.sent_emails()]
    assert len(sent) == 2  # the acknowledgement and one reply
    reply = sent[1]
    assert reply["Subject"] == f"Re: [Case #{case_id}] Rimborso"
    assert reply["In-Reply-To"] and reply["Reply-To"].startswith(f"support+{case_id.lower()}.")
    assert "Arriverà in 5 giorni" in reply.get_body(("plain",)).get_content()

    answer = compose(
        subject=f"Re: {reply['Subject']}", body="Grazie!", headers={"In-Reply-To": reply["Message-ID"]}
    )
    (result,) = load_handler("route_complaint").lambda_handler(ses_event(answer), lambda_context)["cases"]
    assert result["case_id"] == case_id and result["status"] == "open"  # waiting resumed by the answer


def test_status_changes_are_checked(case_id, lambda_context) -> None:
    assert _http("POST", f"/cases/{case_id}/status", lambda_context, {"status": "closed"})[0] == 400
    assert _http("POST", f"/cases/{case_id}/status", lambda_context, {"status": "resolved"})[0] == 200
    assert (
        _http("POST", f"/cases/{case_id}/status", lambda_context, {"status": "resolved"})[0] == 200
    )  # replay
    assert _http("POST", f"/cases/{case_id}/status", lambda_context, {"status": "waiting"})[0] == 409
    assert _http("POST", f"/cases/{case_id}/status", lambda_context, ["resolved"])[0] == 400
    assert _http("POST", f"/cases/{case_id}/replies", lambda_context, {"text": ""})[0] == 400


def test_list_cases_by_status_and_overdue(case_id, frozen_clock, lambda_context) -> None:
    from datetime import timedelta

    status, body = _http("GET", "/cases", lambda_context, query={"status": "open"})
    assert status == 200 and [c["case_id"] for c in body["cases"]] == [case_id]
    assert _http("GET", "/cases", lambda_context, query={"overdue": "true"})[1]["cases"] == []
    frozen_clock.advance(timedelta(hours=9))
    overdue = _http("GET", "/cases", lambda_context, query={"overdue": "true"})[1]["cases"]
    assert [(c["case_id"], c["overdue"]) for c in overdue] == [(case_id, True)]
    assert _http("GET", "/cases", lambda_context, query={"status": "nonsense"})[0] == 400


def test_the_operator_command_lists_overdue_cases_and_shows_one(
    case_id, frozen_clock, capsys, monkeypatch
) -> None:
    from datetime import timedelta

    from infra.cli import main
    from infra.commands import target

    monkeypatch.setattr(target, "_override", target.InProcess())  # a deployed stack's path, on moto

    frozen_clock.advance(timedelta(hours=9))
    assert main(["cases", "list", "--overdue"]) == 0
    listing = capsys.readouterr().out
    assert case_id in listing and "billing" in listing and "1 case(s)" in listing

    assert main(["cases", "show", case_id.lower()]) == 0
    shown = capsys.readouterr().out
    assert f"Case {case_id}" in shown and "inbound" in shown and "addebitato due volte" in shown
    assert main(["cases", "show", "C-000000"]) == 1


def test_an_agent_releasing_a_quarantined_case_tells_the_helpdesk_queue(
    stack, frozen_clock, lambda_context
) -> None:
    """A mail quarantined as spam, released by an agent, reaches the team's queue like any new case
    (ServeCases needs sqs:SendMessage on CaseQueue for it, as RouteComplaint does)."""
    import boto3

    raw = compose(subject="Pacco mai arrivato", body="Il mio ordine A-1001 non è mai arrivato.")
    (result,) = load_handler("route_complaint").lambda_handler(ses_event(raw, spam="FAIL"), lambda_context)[
        "cases"
    ]
    sqs = boto3.client("sqs")
    url = stack.env["CASE_QUEUE_URL"]
    assert (
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        == "0"
    ), "a quarantined case is not the helpdesk's yet"

    status, body = _http("POST", f"/cases/{result['case_id']}/status", lambda_context, {"status": "open"})

    assert status == 200 and body["status"] == "open"
    (message,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert result["case_id"] in message["Body"]


def test_a_reply_key_reused_with_another_text_is_a_409_and_sends_nothing(
    case_id, stack, lambda_context
) -> None:
    key = {"idempotency-key": "r-7"}
    first = _http(
        "POST", f"/cases/{case_id}/replies", lambda_context, {"text": "Rimborso disposto."}, headers=key
    )
    other = _http(
        "POST", f"/cases/{case_id}/replies", lambda_context, {"text": "Nessun rimborso."}, headers=key
    )

    assert first[0] == 200
    assert other[0] == 409 and other[1]["errors"][0]["field"] == "Idempotency-Key"
    assert len(stack.sent_emails()) == 2  # the acknowledgement and the first reply only


def test_a_reply_key_over_the_limit_is_refused_not_truncated(case_id, lambda_context) -> None:
    status, body = _http(
        "POST",
        f"/cases/{case_id}/replies",
        lambda_context,
        {"text": "Ok."},
        headers={"idempotency-key": "k" * 300},
    )
    assert status == 400 and body["errors"][0]["field"] == "Idempotency-Key"


def test_a_complaint_opened_and_resolved_is_told_to_the_lifecycle_on_every_pass(
    stack, frozen_clock, lambda_context
) -> None:
    url = bus_listener(stack, "case-signals", ["crm.case.opened", "crm.case.resolved"])
    raw = compose(subject="Rimborso", body="Vorrei il rimborso dell'ordine A-1001, addebitato due volte.")
    route = load_handler("route_complaint").lambda_handler
    (first,) = route(ses_event(raw), lambda_context)["cases"]
    route(ses_event(raw), lambda_context)  # SES delivered the same mail again
    case_id = first["case_id"]
    for _ in range(2):  # the agent's tool retried
        assert _http("POST", f"/cases/{case_id}/status", lambda_context, {"status": "resolved"})[0] == 200

    signals = [(e["detail-type"], e["detail"]) for e in bus_received(url)]
    # At least once, each naming the case: the lifecycle applies a case id once per kind.
    assert {kind for kind, _ in signals} == {"crm.case.opened", "crm.case.resolved"}
    assert all(detail["case_id"] == case_id for _, detail in signals)
    opened = [d for kind, d in signals if kind == "crm.case.opened"]
    resolved = [d for kind, d in signals if kind == "crm.case.resolved"]
    assert len(opened) == 2 and len(resolved) == 2
    assert {d["contact_id"] for d in opened + resolved} == {
        first.get("contact_id") or opened[0]["contact_id"]
    }
    assert all(d["opened_at"] for d in opened) and all(d["resolved_at"] for d in resolved)


@pytest.mark.parametrize(("method", "path"), [("GET", "/cases/c-1/unknown"), ("DELETE", "/cases/c-1")])
def test_a_request_no_route_takes_is_a_404_not_an_internal_error(
    stack, lambda_context, method: str, path: str
) -> None:
    status, body = _http(method, path, lambda_context)

    assert status == 404
    assert body == {"errors": [{"field": "", "message": "no such route"}]}  # was a 500 "internal error"
