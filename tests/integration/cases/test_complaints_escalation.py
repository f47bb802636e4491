"""SLA escalation with a moved clock: a warning once at 75%, each breach level once, paused while waiting."""

from __future__ import annotations

import json
from datetime import timedelta
from email import message_from_bytes, policy
from unittest import mock

import boto3
import pytest

from crm_core.cases import service, store
from tests.complaints import compose, ses_event
from tests.helpers import load_handler

# The delivery complaint below is P3: first response in 8 h (warning at 6 h), resolution in 72 h;
# breach levels at +0 h, +2 h and +8 h after a target passes (crm_core/cases/rules.yaml).


@pytest.fixture
def alerts(stack):
    """An SQS queue subscribed to CaseAlertsTopic: what the teams would be told."""
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    url = sqs.create_queue(QueueName="alerts-probe")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=stack.env["CASE_ALERTS_TOPIC_ARN"],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )

    def read() -> list[dict]:
        found = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in batch:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found

    return read


@pytest.fixture
def case_id(stack, frozen_clock, lambda_context) -> str:
    event = ses_event(compose(subject="Pacco non arrivato", body="Il mio pacco non è arrivato."))
    (result,) = load_handler("route_complaint").lambda_handler(event, lambda_context)["cases"]
    assert result["priority"] == "P3"
    return result["case_id"]


def _escalate(lambda_context) -> dict:
    return load_handler("escalate_cases").lambda_handler({"id": "scheduled-run"}, lambda_context)


def _kinds(alerts: list[dict]) -> list[str]:
    return [f"{a['target']}:{a['type']}:{a['level']}" for a in alerts]


def test_the_team_is_warned_once_at_75_percent(case_id, frozen_clock, alerts, lambda_context) -> None:
    frozen_clock.advance(timedelta(hours=5, minutes=59))
    assert _escalate(lambda_context)["warnings"] == 0
    frozen_clock.advance(timedelta(minutes=2))
    assert _escalate(lambda_context)["warnings"] == 1
    assert _escalate(lambda_context)["warnings"] == 0
    frozen_clock.advance(timedelta(minutes=5))
    _escalate(lambda_context)

    assert _kinds(alerts()) == ["first_response:sla.warning:0"]
    _, events = store.case_and_events(case_id)
    assert [e.subject for e in events if e.kind == "sla"] == ["SLA warning: first response"]


def test_each_breach_level_fires_once(stack, case_id, frozen_clock, alerts, lambda_context) -> None:
    opened = frozen_clock.now()
    for hours in (6, 8, 8, 9, 10, 10, 15, 16, 16, 17):
        frozen_clock.set(opened + timedelta(hours=hours))
        _escalate(lambda_context)

    assert _kinds(alerts()) == [
        "first_response:sla.warning:0",
        "first_response:sla.breach:1",
        "first_response:sla.breach:2",
        "first_response:sla.breach:3",
    ]
    assert service.list_cases(overdue=True)["cases"][0]["case_id"] == case_id
    emails = [message_from_bytes(m.raw_data.encode(), policy=policy.default) for m in stack.sent_emails()][1:]
    assert [(str(m["To"]), m["Subject"]) for m in emails] == [
        ("logistics@example.com", f"[Case #{case_id}] SLA warning: first response, P3"),
        ("logistics@example.com", f"[Case #{case_id}] SLA breach (level 1): first response, P3"),
        ("support-lead@example.com", f"[Case #{case_id}] SLA breach (level 2): first response, P3"),
        ("operations@example.com", f"[Case #{case_id}] SLA breach (level 3): first response, P3"),
    ]


def test_a_run_after_a_long_outage_escalates_without_a_stale_warning(
    case_id, frozen_clock, alerts, lambda_context
) -> None:
    frozen_clock.advance(timedelta(hours=11))
    report = _escalate(lambda_context)

    assert (report["warnings"], report["breaches"]) == (0, 2)
    assert _kinds(alerts()) == ["first_response:sla.breach:1", "first_response:sla.breach:2"]


def test_waiting_on_the_customer_pauses_the_clock(case_id, frozen_clock, alerts, lambda_context) -> None:
    frozen_clock.advance(timedelta(hours=5))
    service.change_status(case_id, "waiting")
    frozen_clock.advance(timedelta(hours=24))
    assert _escalate(lambda_context)["examined"] == 0  # out of the due index while paused
    assert service.list_cases(overdue=True)["cases"] == []

    service.change_status(case_id, "open")  # 5 h used, 3 h left: warning at +1 h, breach at +3 h
    frozen_clock.advance(timedelta(minutes=59))
    assert _escalate(lambda_context)["warnings"] == 0
    frozen_clock.advance(timedelta(minutes=2))
    assert _escalate(lambda_context)["warnings"] == 1
    frozen_clock.advance(timedelta(hours=2))
    assert _escalate(lambda_context)["breaches"] == 1
    assert _kinds(alerts()) == ["first_response:sla.warning:0", "first_response:sla.breach:1"]


def test_a_customer_reply_resumes_a_waiting_case(case_id, frozen_clock, lambda_context) -> None:
    frozen_clock.advance(timedelta(hours=1))
    service.change_status(case_id, "waiting")
    frozen_clock.advance(timedelta(hours=3))
    reply = compose(subject=f"Re: [Case #{case_id}]", body="Ecco le foto.")

    load_handler("route_complaint").lambda_handler(ses_event(reply), lambda_context)

    case = store.get_case(case_id)
    assert case.status == "open"
    assert case.first_response_due == "2026-11-23T21:00:00.000Z"  # 10:00 + 8 h + 3 h waited


def test_an_agent_reply_meets_the_first_response_target(
    case_id, frozen_clock, alerts, lambda_context
) -> None:
    frozen_clock.advance(timedelta(hours=1))
    service.reply(case_id, "Abbiamo contattato il corriere.", agent="Sara")
    frozen_clock.advance(timedelta(hours=20))

    assert _escalate(lambda_context)["breaches"] == 0
    assert alerts() == []


def test_an_alert_that_cannot_be_sent_fails_the_run_visibly_and_the_next_run_sends_it(
    case_id, frozen_clock, alerts, lambda_context, capsys
) -> None:
    """A failing alert (SES down, or AccessDenied on AWS) must not vanish into a log line: the run
    fails (Lambda's Errors metric, the on-failure queue), counts CaseEscalationFailures, and the
    next run, five minutes later, sends the warning once."""
    from botocore.exceptions import ClientError

    from crm_core import aws
    from crm_core.errors import RetryableError

    def ses_down(**_: object) -> None:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendEmail")

    frozen_clock.advance(timedelta(hours=6, minutes=1))
    capsys.readouterr()
    with mock.patch.object(aws.sesv2(), "send_email", side_effect=ses_down), pytest.raises(RetryableError):
        _escalate(lambda_context)
    assert '"CaseEscalationFailures":[1.0]' in capsys.readouterr().out.replace(" ", "")
    assert alerts() == []

    frozen_clock.advance(timedelta(minutes=5))
    assert _escalate(lambda_context)["warnings"] == 1
    assert _kinds(alerts()) == ["first_response:sla.warning:0"]
