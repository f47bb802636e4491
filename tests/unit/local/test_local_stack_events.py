"""The local stack's events are real-shaped: Powertools' parser models (from AWS samples) accept them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventV2Model,
    EventBridgeModel,
    S3Model,
    SesModel,
    SnsModel,
    SqsModel,
)

from infra.local import events, gateway
from infra.local.triggers.buses import matches
from infra.template import Template

AT = datetime(2027, 2, 28, 9, 30, 5, 123000, tzinfo=UTC)
RAW = (
    b"From: Ana <ana@example.com>\r\nTo: support@example.com\r\nCc: boss@example.com\r\n"
    b"Subject: Broken\r\nMessage-ID: <m1@example.com>\r\n"
    b"Date: Sun, 28 Feb 2027 09:30:00 +0000\r\n\r\nHelp\r\n"
)


def test_http_events_parse_as_api_gateway_v2_events() -> None:
    route = gateway.Route(
        "POST",
        "/contacts/{contact_id}/loyalty",
        "F",
        True,
        "HttpApi",
        ("contacts", "{contact_id}", "loyalty"),
    )
    event = gateway.http_event(
        route,
        method="POST",
        raw_path="/contacts/c-1/loyalty",
        raw_query="a=1",
        headers=[("Content-Type", "application/json"), ("Cookie", "x=1")],
        body=b'{"points": 5}',
        path_parameters={"contact_id": "c-1"},
        source_ip="127.0.0.1",
        host="127.0.0.1:3000",
        at=AT,
    )

    parsed = APIGatewayProxyEventV2Model(**event)

    assert parsed.requestContext.authorizer.iam.accountId == "123456789012"
    assert parsed.pathParameters == {"contact_id": "c-1"}
    assert parsed.cookies == ["x=1"]
    assert json.loads(parsed.body) == {"points": 5}


def test_scheduled_events_parse_as_eventbridge_events() -> None:
    event = events.scheduled_event(
        at=AT,
        region="eu-west-1",
        resource_arn="arn:aws:events:eu-west-1:123456789012:rule/r",
        scheduler=False,
    )

    parsed = EventBridgeModel(**event)

    assert parsed.detail_type == "Scheduled Event" and parsed.source == "aws.events"
    assert event["time"] == "2027-02-28T09:30:05Z"


def test_sqs_records_parse_as_an_sqs_event() -> None:
    message = {
        "MessageId": "6c5d3ff5-2a4c-4a8e-a0a4-8d5c7e3c2b1a",
        "ReceiptHandle": "handle",
        "Body": '{"order_id": "A-1"}',
        "MD5OfBody": "x",
        "Attributes": {
            "ApproximateReceiveCount": "2",
            "SentTimestamp": "1700000000000",
            "SenderId": "AIDA",
            "ApproximateFirstReceiveTimestamp": "1700000000001",
        },
        "MessageAttributes": {"kind": {"StringValue": "purchase", "DataType": "String"}},
    }
    record = events.sqs_record(message, queue_arn="arn:aws:sqs:eu-west-1:123456789012:q", region="eu-west-1")

    parsed = SqsModel(Records=[record])

    assert parsed.Records[0].attributes.ApproximateReceiveCount == "2"
    assert parsed.Records[0].messageAttributes["kind"].stringValue == "purchase"


def test_sns_events_parse_as_an_sns_event() -> None:
    event = events.sns_event(
        topic_arn="arn:aws:sns:eu-west-1:123456789012:t",
        message='{"notificationType": "Bounce"}',
        message_id="9b4a8d3e-1c2f-4e5a-8b7c-6d5e4f3a2b1c",
        subject=None,
        at=AT,
        region="eu-west-1",
    )

    parsed = SnsModel(**event)

    assert parsed.Records[0].Sns.Message == '{"notificationType": "Bounce"}'


def test_ses_inbound_events_parse_as_an_ses_lambda_action_event() -> None:
    event = events.ses_inbound_event(
        RAW,
        message_id=events.ses_message_id(),
        recipients=["support@example.com"],
        verdicts={"spam": "FAIL"},
        function_arn="arn:aws:lambda:eu-west-1:123456789012:function:f",
        at=AT,
    )

    parsed = SesModel(**event)

    ses = parsed.Records[0].ses
    assert ses.receipt.spamVerdict.status == "FAIL" and ses.receipt.virusVerdict.status == "PASS"
    assert event["Records"][0]["ses"]["receipt"]["dkimVerdict"] == {"status": "PASS"}
    assert ses.mail.commonHeaders.subject == "Broken"
    assert ses.mail.commonHeaders.cc == ["boss@example.com"]
    assert events.recipients_of(RAW) == ["support@example.com", "boss@example.com"]


def test_s3_events_parse_as_an_s3_event() -> None:
    event = events.s3_event(bucket="b", key="inbound/x", size=10, etag='"abc"', at=AT, region="eu-west-1")

    parsed = S3Model(**event)

    assert parsed.Records[0].s3.object.key == "inbound/x"


def test_ses_events_are_eventbridge_events_that_match_the_rule_of_the_configuration_set() -> None:
    template = Template()
    (rule,) = [e for e in template.functions()["HandleSesNotificationsFunction"].events.values()]
    pattern = template.resolve(rule["Properties"]["Pattern"])
    ours = template.physical_name("SesConfigurationSet")
    bounce = {"eventType": "Bounce", "bounce": {"bounceType": "Permanent"}, "mail": {"messageId": "m-1"}}

    event = events.ses_event(bounce, configuration_set=ours, at=AT, region="eu-west-1")
    others = events.ses_event(bounce, configuration_set="someone-elses", at=AT, region="eu-west-1")
    opened = events.ses_event(
        {"eventType": "Open", "mail": {}}, configuration_set=ours, at=AT, region="eu-west-1"
    )

    assert EventBridgeModel(**event).detail_type == "Email Bounced"
    assert event["source"] == "aws.ses" and event["detail"]["mail"]["tags"]["ses:configuration-set"] == [ours]
    assert event["detail"]["bounce"] == bounce["bounce"]
    assert matches(pattern, event)
    assert not matches(pattern, others)  # another stack's (or tool's) set on the same default bus
    assert not matches(pattern, opened)  # kinds the function does not read are not delivered
