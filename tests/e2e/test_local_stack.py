"""The local stack itself, on a small template of its own (tests/fixtures/local_stack): every trigger it runs.

The fixture's handlers only report what they received, so these tests see the events the stack
builds and what it does with the answers, apart from any domain function.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from infra.commands.local import banner
from infra.local.client import LocalClient, LocalStackError
from infra.local.stack import LocalStack
from infra.local.triggers import AutoScheduler
from infra.template import Template

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "local_stack" / "template.yaml"
RAW_EMAIL = (
    b"From: Ana Rossi <ana@example.com>\r\n"
    b"To: Support <support@example.com>, someone@else.example\r\n"
    b"Subject: My order never arrived\r\n"
    b"Message-ID: <order-1@example.com>\r\n"
    b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Where is order A-1001?\r\n"
)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(Template(path=FIXTURE), port=0, log_requests=False) as running:
        yield running


@pytest.fixture(scope="module")
def local(stack: LocalStack) -> LocalClient:
    return LocalClient(stack.url)


@pytest.fixture(scope="module")
def sqs(stack: LocalStack):
    return boto3.client("sqs", endpoint_url=stack.moto_url, region_name="eu-west-1")


def _drain(sqs, name: str) -> list[dict]:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


# ---- HTTP API ---------------------------------------------------------------------------------------
def test_a_form_post_reaches_the_handler_as_a_payload_2_event_with_a_base64_body(local: LocalClient) -> None:
    response = local.post(
        "/things/caf%C3%A9?colour=red&colour=blue&size=",
        data={"name": "Zoë", "note": "a&b"},
        headers={"Cookie": "a=1; b=2", "User-Agent": "pytest"},
    )

    assert response.status == 201
    seen = response.json()
    event = seen["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /things/{thing_id}"
    assert event["rawPath"] == "/things/caf%C3%A9"
    assert event["rawQueryString"] == "colour=red&colour=blue&size="
    assert event["queryStringParameters"] == {"colour": "red,blue", "size": ""}
    assert event["pathParameters"] == {"thing_id": "café"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"name=Zo%C3%AB&note=a%26b"
    assert seen["decoded_body"] == "name=Zo%C3%AB&note=a%26b"
    context = event["requestContext"]
    assert context["http"]["method"] == "POST"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["http"]["userAgent"] == "pytest"
    assert context["stage"] == "$default"
    assert context["requestId"] and context["timeEpoch"] > 0
    assert "authorizer" not in context
    assert seen["function_name"] == "crm-local-EchoFunction"
    assert 0 < seen["remaining_ms"] <= 10_000


def test_the_handler_answer_maps_to_http_with_its_headers_and_cookies(local: LocalClient) -> None:
    response = local.post("/things/1", json={"a": 1})

    assert response.headers["x-greeting"] == "ciao", "the function's own Environment overrides Globals"
    assert response.headers["set-cookie"] == "seen=1; Path=/"
    assert response.headers["apigw-requestid"]
    event = response.json()["event"]
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"a": 1}


def test_a_dict_answer_without_status_code_is_a_200_json_body(local: LocalClient) -> None:
    response = local.get("/plain")

    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"plain": True}


def test_literal_routes_win_over_greedy_ones(local: LocalClient) -> None:
    readme = local.get("/files/readme").json()["event"]
    nested = local.get("/files/docs/a%20b.txt").json()["event"]

    assert readme["routeKey"] == "GET /files/readme"
    assert nested["routeKey"] == "GET /files/{path+}"
    assert nested["pathParameters"] == {"path": "docs/a b.txt"}


def test_an_iam_route_carries_a_caller_identity_that_is_not_checked(local: LocalClient) -> None:
    event = local.get("/secure/42").json()["event"]

    assert event["requestContext"]["authorizer"]["iam"]["accountId"] == "123456789012"
    assert event["pathParameters"] == {"thing_id": "42"}


def test_a_failing_handler_answers_500_as_api_gateway_does(local: LocalClient) -> None:
    response = local.get("/boom")

    assert response.status == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_unknown_routes_answer_404_and_static_paths_do_not_escape_examples(local: LocalClient) -> None:
    assert local.get("/nothing-here").json() == {"message": "Not Found"}
    assert local.post("/plain").status == 404, "a route serves only its method"
    assert local.get("/examples/../pyproject.toml").status == 404
    assert local.get("/examples/%2e%2e/pyproject.toml").status == 404


def test_cors_preflight_and_answers_follow_the_api_configuration(local: LocalClient) -> None:
    allowed = local.options(
        "/things/1",
        headers={"Origin": "http://shop.example", "Access-Control-Request-Method": "POST"},
    )
    foreign = local.options(
        "/things/1",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    answer = local.post("/things/1", json={}, headers={"Origin": "http://shop.example"})

    assert allowed.status == 204
    assert allowed.headers["access-control-allow-origin"] == "http://shop.example"
    assert allowed.headers["access-control-allow-methods"] == "GET,POST"
    assert allowed.headers["access-control-max-age"] == "600"
    assert foreign.status == 204 and "access-control-allow-origin" not in foreign.headers
    assert answer.headers["access-control-allow-origin"] == "http://shop.example"


# ---- clock and outbox -------------------------------------------------------------------------------
def test_the_clock_moves_for_every_handler(local: LocalClient) -> None:
    assert local.set_clock("2027-02-28T09:30:00Z") == "2027-02-28T09:30:00Z"
    assert local.get("/now").json()["now"].startswith("2027-02-28T09:30")

    assert local.advance_clock("P1D").startswith("2027-03-01T09:30")
    assert local.advance_clock(3600).startswith("2027-03-01T10:30")
    assert local.now().startswith("2027-03-01T10:30")
    assert local.post("/_local/clock", json={"now": "yesterday"}).status == 400


def test_the_outbox_shows_each_sent_email_stamped_by_the_local_clock(local: LocalClient) -> None:
    local.set_clock("2027-05-01T08:00:00Z")
    sent = local.post("/send", json={"to": "zoe@example.com", "subject": "Ciao Zoë", "text": "Benvenuta"})

    assert sent.status == 202
    mail = local.outbox()[-1]
    assert mail["ses_message_id"] == sent.json()["ses_message_id"]
    assert mail["to"] == "zoe@example.com"
    assert mail["from"] == "shop@example.com"
    assert mail["subject"] == "Ciao Zoë"
    assert mail["text"].strip() == "Benvenuta"
    assert mail["html"].strip() == "<p>Benvenuta</p>"
    assert mail["headers"]["X-Local-Test"] == "yes"
    assert mail["sent_at"].startswith("2027-05-01T08:00")


# ---- schedules --------------------------------------------------------------------------------------
def test_schedules_are_listed_and_run_on_demand_with_a_scheduled_event(local: LocalClient) -> None:
    listed = {s["event"]: s for s in local.schedules()}
    local.set_clock("2027-01-01T00:00:00Z")

    run = local.run_schedule("TickFunction", event="EveryFiveMinutes")

    assert listed["EveryFiveMinutes"]["expression"] == "rate(5 minutes)"
    assert listed["Nightly"]["expression"] == "cron(0 2 * * ? *)"
    assert run["status"] == "succeeded" and run["attempts"] == 1
    assert run["result"]["source"] == "aws.events"
    assert run["result"]["time"] == "2027-01-01T00:00:00Z"
    assert run["result"]["detail"] == {}
    last = {s["event"]: s for s in local.schedules()}["EveryFiveMinutes"]
    assert last["last_run"] == "2027-01-01T00:00:00Z" and last["last_status"] == "succeeded"


def test_a_failing_schedule_is_retried_then_recorded_on_its_failure_destination(
    local: LocalClient, sqs
) -> None:
    _drain(sqs, "crm-local-FailureQueue")

    run = local.run_schedule("TickFunction", event="Nightly")

    assert run["status"] == "failed"
    assert run["attempts"] == 2, "MaximumRetryAttempts: 1 means one retry"
    assert run["error"]["errorMessage"] == "nightly run failed on purpose"
    assert run["result"] == {"sent": 0, "error": "RuntimeError: nightly run failed on purpose"}
    assert run["sent"] == []
    assert run["destination"] == {"type": "SQS", "queue": "crm-local-FailureQueue"}
    (record,) = _drain(sqs, "crm-local-FailureQueue")
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == {"fail": True}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "RuntimeError"


def test_auto_schedules_fire_what_the_local_clock_makes_due(
    local: LocalClient, stack: LocalStack, sqs
) -> None:
    """What `crm local up --auto-schedules` runs twice a second, ticked here by hand."""
    auto = AutoScheduler(stack.schedules, log=lambda _: None)
    local.set_clock("2030-06-01T01:54:00Z")  # 6.5 minutes before 02:00:30: a 5-minute rate fires
    auto.tick()  # whatever the earlier jump made due

    assert auto.tick() == []
    local.set_clock("2030-06-01T02:00:30Z")
    fired = sorted((o["schedule"], o["status"]) for o in auto.tick())

    assert fired == [("EveryFiveMinutes", "succeeded"), ("Nightly", "failed")]
    assert auto.tick() == []
    _drain(sqs, "crm-local-FailureQueue")


def test_running_an_unknown_schedule_is_a_404(local: LocalClient) -> None:
    with pytest.raises(LocalStackError) as refused:
        local.run_schedule("NoSuchFunction")
    assert refused.value.response.status == 404


# ---- queues -----------------------------------------------------------------------------------------
def test_queue_messages_are_delivered_failures_redelivered_then_dead_lettered(
    local: LocalClient, sqs
) -> None:
    good = local.send_to_queue("OrdersQueue", {"order_id": "A-1"})
    bad = local.send_to_queue("OrdersQueue", {"order_id": "A-2", "fail": True})

    assert good["consumer"] == "ConsumeFunction"
    assert good["succeeded"] == [good["message_id"]] and good["dead_lettered"] == []
    assert bad["succeeded"] == []
    assert [b["receive_counts"] for b in bad["batches"]] == [[1], [2]], "maxReceiveCount 2: two deliveries"
    assert bad["dead_lettered"] == [bad["message_id"]]
    assert [m["outcome"] for m in good["messages"]] == ["applied"]
    (dead,) = bad["messages"]
    assert dead["outcome"] == "dead_lettered" and dead["receives"] == 2 and dead["reason"], dead
    assert bad["depth"] == 0 and bad["dlq_depth"] == 1
    queues = {q["logical_id"]: q for q in local.queues()}
    assert queues["OrdersQueue"]["dlq"] == "OrdersDeadLetterQueue"
    assert queues["OrdersQueue"]["dlq_depth"] == 1
    assert queues["OrdersQueue"]["consumers"] == ["ConsumeFunction"]
    (dead,) = _drain(sqs, "crm-local-OrdersDeadLetterQueue")
    assert dead == {"order_id": "A-2", "fail": True}


def test_a_batch_with_partial_failures_deletes_only_what_succeeded(
    local: LocalClient, stack: LocalStack
) -> None:
    for body in ({"n": 1}, {"n": 2, "fail": True}, {"n": 3}):
        stack.queues.send("OrdersQueue", json.dumps(body))

    report = local.post("/_local/queues/OrdersQueue").json()

    first = report["batches"][0]
    assert len(first["message_ids"]) == 3 and len(first["failed"]) == 1
    assert len(report["succeeded"]) == 2
    assert report["dead_lettered"] == first["failed"]
    assert report["depth"] == 0


def test_sending_to_a_queue_needs_json(local: LocalClient) -> None:
    assert (
        local.post(
            "/_local/queues/OrdersQueue", data=b"not json", headers={"content-type": "text/plain"}
        ).status
        == 400
    )
    assert local.post("/_local/queues/NoSuchQueue", json={}).status == 404


# ---- topics -----------------------------------------------------------------------------------------
def test_a_published_message_reaches_every_subscribed_function(local: LocalClient) -> None:
    answer = local.publish("NewsTopic", {"news": "sale"}, subject="Sale")

    (delivery,) = answer["deliveries"]
    assert delivery["function"] == "NotifyFunction" and delivery["status"] == "succeeded"
    assert json.loads(delivery["result"]["message"]) == {"news": "sale"}
    assert delivery["result"]["subject"] == "Sale"
    assert delivery["result"]["topic"].endswith(":crm-local-NewsTopic")


def test_a_failing_subscriber_gets_no_retry_with_zero_retries_and_lands_on_failure(
    local: LocalClient, sqs
) -> None:
    _drain(sqs, "crm-local-FailureQueue")

    (delivery,) = local.publish("NewsTopic", "boom")["deliveries"]

    assert delivery["status"] == "failed" and delivery["attempts"] == 1
    (record,) = _drain(sqs, "crm-local-FailureQueue")
    assert record["requestPayload"]["Records"][0]["Sns"]["Message"] == "boom"


# ---- EventBridge buses ------------------------------------------------------------------------------
def test_a_bus_event_reaches_the_functions_whose_rule_matches(local: LocalClient, sqs) -> None:
    entry = {"DetailType": "thing.done", "Source": "shop", "Detail": {"id": "T-1"}}

    (delivery,) = local.post("/_local/buses/ThingsBus", json=entry).json()["deliveries"]
    ignored = local.post("/_local/buses/ThingsBus", json={**entry, "DetailType": "thing.other"}).json()

    assert delivery["function"] == "ListenFunction" and delivery["status"] == "succeeded"
    assert delivery["result"] == {"detail_type": "thing.done", "source": "shop", "detail": {"id": "T-1"}}
    assert ignored["deliveries"] == []
    assert local.get("/_local/buses").json() == [
        {"logical_id": "ThingsBus", "name": "crm-local-things", "subscribers": ["ListenFunction"]}
    ]
    _drain(sqs, "crm-local-FailureQueue")
    (failed,) = local.post("/_local/buses/ThingsBus", json={**entry, "Detail": {"boom": True}}).json()[
        "deliveries"
    ]
    assert failed["status"] == "failed"
    assert _drain(sqs, "crm-local-FailureQueue")[0]["requestPayload"]["detail"] == {"boom": True}


def test_events_a_function_puts_on_a_bus_are_delivered_after_it(stack: LocalStack) -> None:
    events = boto3.client("events", endpoint_url=stack.moto_url, region_name="eu-west-1")  # as a function's
    events.put_events(
        Entries=[
            {"EventBusName": "crm-local-things", "DetailType": "thing.done", "Source": "f", "Detail": "{}"}
        ]
    )

    (delivery,) = stack.buses.flush()  # the runtime does this after each invocation

    assert delivery["function"] == "ListenFunction" and delivery["result"]["source"] == "f"
    assert stack.buses.flush() == []


# ---- SES inbound ------------------------------------------------------------------------------------
def test_an_inbound_email_is_stored_then_handed_to_the_rule_function_with_its_verdicts(
    local: LocalClient,
) -> None:
    answer = local.deliver_email(RAW_EMAIL, spam="FAIL", dkim="GRAY")

    assert answer["rule"] == "InboundRule"
    assert answer["recipients"] == ["support@example.com"], "only the recipients the rule accepts"
    assert answer["stored"] == {"bucket": "crm-local-inboundbucket", "key": f"inbound/{answer['message_id']}"}
    outcome = answer["invocation"]
    assert outcome["function"] == "InboundFunction" and outcome["status"] == "succeeded"
    seen = outcome["result"]
    assert seen["subject"] == "My order never arrived"
    assert seen["common_subject"] == "My order never arrived"
    assert seen["verdicts"] == {
        "spamVerdict": "FAIL",
        "virusVerdict": "PASS",
        "spfVerdict": "PASS",
        "dkimVerdict": "GRAY",
        "dmarcVerdict": "PASS",
    }
    assert seen["action"]["type"] == "Lambda" and seen["action"]["invocationType"] == "Event"


def test_a_rule_storing_with_a_topic_notifies_the_topic_subscribers(local: LocalClient) -> None:
    raw = RAW_EMAIL.replace(b"Support <support@example.com>", b"shop@orders.example.com")

    answer = local.deliver_email(raw)

    assert answer["rule"] == "NoticeRule" and answer["recipients"] == ["shop@orders.example.com"]
    assert answer["stored"]["key"] == f"orders/{answer['message_id']}"
    (delivery,) = answer["notifications"][0]["deliveries"]
    notice = json.loads(delivery["result"]["message"])
    assert notice["notificationType"] == "Received"
    assert notice["receipt"]["action"]["objectKey"] == answer["stored"]["key"]
    assert notice["mail"]["commonHeaders"]["subject"] == "My order never arrived"
    assert "content" not in notice, "an S3 action's notification carries no content"


def test_mail_for_nobody_the_rule_accepts_is_refused(local: LocalClient) -> None:
    other = RAW_EMAIL.replace(b"Support <support@example.com>, ", b"")

    assert local.post("/_local/inbox", data=other, headers={"content-type": "message/rfc822"}).status == 404
    assert local.post("/_local/inbox?spam=MAYBE", data=RAW_EMAIL).status == 400


def test_the_stack_describes_itself(local: LocalClient, stack: LocalStack) -> None:
    info = local.info()

    assert info["moto_endpoint"] == stack.moto_url
    assert {
        "method": "GET",
        "path": "/secure/{thing_id}",
        "function": "EchoFunction",
        "auth": "AWS_IAM",
    } in info["routes"]
    assert "CRM local stack on" in banner(stack)


def test_provisioning_generates_secrets_from_the_template(stack: LocalStack) -> None:
    secrets = boto3.client("secretsmanager", endpoint_url=stack.moto_url, region_name="eu-west-1")

    value = secrets.get_secret_value(SecretId="crm-local-TokenSecret")["SecretString"]

    assert len(value) == 40 and value.isalnum()
