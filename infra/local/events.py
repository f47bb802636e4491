"""Events shaped as AWS delivers them to Lambda: scheduled, SQS, SNS, SES inbound, S3, destinations.

The HTTP API's payload 2.0 event lives in gateway.py beside the route matching it belongs to.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

from infra.template import ACCOUNT_ID


def iso_seconds(at: datetime) -> str:
    """2026-11-23T10:00:00Z (EventBridge's `time`)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(at: datetime) -> str:
    """2026-11-23T10:00:00.000Z (SNS, SES, S3 and destination timestamps)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def scheduled_event(
    *, at: datetime, region: str, resource_arn: str, scheduler: bool, payload: str | None = None
) -> Any:
    """What a schedule delivers: its Input when it has one, else EventBridge's Scheduled Event.

    EventBridge rules (`Schedule`) send `detail: {}`; EventBridge Scheduler (`ScheduleV2`) sends its
    default notification with source `aws.scheduler` and the detail as the string "{}".
    """
    if payload is not None:
        return json.loads(payload)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler" if scheduler else "aws.events",
        "account": ACCOUNT_ID,
        "time": iso_seconds(at),
        "region": region,
        "resources": [resource_arn],
        "detail": "{}" if scheduler else {},
    }


def sqs_record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of a Lambda SQS event, from a boto3 `receive_message` message."""
    attributes = {
        key: value
        for key, value in message.get("Attributes", {}).items()
        if key
        in {
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
            "MessageGroupId",
            "MessageDeduplicationId",
            "SequenceNumber",
            "AWSTraceHeader",
        }
    }
    message_attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value["DataType"],
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    for value in message_attributes.values():
        for empty in [k for k in ("stringValue", "binaryValue") if value[k] is None]:
            del value[empty]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324 - the checksum SQS itself sends
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sns_event(
    *,
    topic_arn: str,
    message: str,
    message_id: str,
    subject: str | None,
    at: datetime,
    region: str,
    attributes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Lambda SNS event with one record."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": iso_millis(at),
                    "SignatureVersion": "1",
                    "Signature": "bG9jYWwgc3RhY2s=",
                    "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-local.pem",
                    "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {
                        name: {"Type": "String", "Value": value} for name, value in (attributes or {}).items()
                    },
                },
            }
        ]
    }


def ses_message_id() -> str:
    """An id shaped like SES's inbound message ids (also the S3 object name under the prefix)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(40))


VERDICTS = ("spam", "virus", "spf", "dkim", "dmarc")
VERDICT_VALUES = frozenset({"PASS", "FAIL", "GRAY", "PROCESSING_FAILED"})


def ses_mail_and_receipt(
    raw: bytes,
    *,
    message_id: str,
    recipients: list[str],
    verdicts: dict[str, str],
    action: dict[str, Any],
    at: datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The `mail` and `receipt` objects SES puts in every inbound event and notification."""
    parsed = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    headers = [{"name": name, "value": str(value)} for name, value in parsed.items()]
    source = _addresses(parsed.get_all("Return-Path")) or _addresses(parsed.get_all("From"))
    common: dict[str, Any] = {
        "returnPath": (source or [""])[0],
        "from": [str(v) for v in parsed.get_all("From", [])],
        "date": str(parsed.get("Date", "")),
        "to": [str(v) for v in parsed.get_all("To", [])],
        "messageId": str(parsed.get("Message-ID", "")),
        "subject": str(parsed.get("Subject", "")),
    }
    for header, key in (("Cc", "cc"), ("Reply-To", "replyTo"), ("Sender", "sender")):
        if parsed.get_all(header):
            common[key] = [str(v) for v in parsed.get_all(header, [])]
    mail = {
        "timestamp": iso_millis(at),
        "source": (source or [""])[0],
        "messageId": message_id,
        "destination": recipients,
        "headersTruncated": False,
        "headers": headers,
        "commonHeaders": common,
    }
    receipt: dict[str, Any] = {
        "timestamp": iso_millis(at),
        "processingTimeMillis": 42,
        "recipients": recipients,
        **{f"{name}Verdict": {"status": verdicts.get(name, "PASS")} for name in VERDICTS},
        "action": action,
    }
    if verdicts.get("dmarc", "PASS") == "FAIL":
        receipt["dmarcPolicy"] = "none"
    return mail, receipt


def ses_inbound_event(
    raw: bytes,
    *,
    message_id: str,
    recipients: list[str],
    verdicts: dict[str, str],
    function_arn: str,
    at: datetime,
) -> dict[str, Any]:
    """The event an SES receipt rule's Lambda action (InvocationType Event) delivers."""
    action = {"type": "Lambda", "functionArn": function_arn, "invocationType": "Event"}
    mail, receipt = ses_mail_and_receipt(
        raw, message_id=message_id, recipients=recipients, verdicts=verdicts, action=action, at=at
    )
    return {
        "Records": [
            {"eventSource": "aws:ses", "eventVersion": "1.0", "ses": {"mail": mail, "receipt": receipt}}
        ]
    }


def ses_received_notification(
    raw: bytes,
    *,
    message_id: str,
    recipients: list[str],
    verdicts: dict[str, str],
    action: dict[str, Any],
    at: datetime,
    with_content: bool,
) -> dict[str, Any]:
    """The "Received" notification an S3 action (after storing) or an SNS action publishes to SNS."""
    mail, receipt = ses_mail_and_receipt(
        raw, message_id=message_id, recipients=recipients, verdicts=verdicts, action=action, at=at
    )
    notification: dict[str, Any] = {"notificationType": "Received", "mail": mail, "receipt": receipt}
    if with_content:
        encoding = str(action.get("encoding", "UTF-8")).upper()
        notification["content"] = (
            base64.b64encode(raw).decode() if encoding == "BASE64" else raw.decode("utf-8", "replace")
        )
    return notification


def recipients_of(raw: bytes) -> list[str]:
    """The addresses in To and Cc of a raw message (the envelope recipients the local inbox assumes)."""
    parsed = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    return _addresses(parsed.get_all("To", []) + parsed.get_all("Cc", []))


def _addresses(values: list[Any] | None) -> list[str]:
    return [address for _, address in getaddresses([str(v) for v in values or []]) if address]


def s3_event(*, bucket: str, key: str, size: int, etag: str, at: datetime, region: str) -> dict[str, Any]:
    """An `s3:ObjectCreated:Put` notification as Lambda receives it."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": iso_millis(at),
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:LOCALSTACK"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                    "x-amz-id-2": base64.b64encode(uuid.uuid4().bytes * 2).decode(),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "local",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "LOCAL"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {"key": key, "size": size, "eTag": etag.strip('"'), "sequencer": "0"},
                },
            }
        ]
    }


def destination_record(
    *,
    request_payload: Any,
    function_arn: str,
    request_id: str,
    condition: str,
    attempts: int,
    response: Any,
    failed: bool,
    at: datetime,
) -> dict[str, Any]:
    """The record Lambda sends to an async invocation's OnFailure/OnSuccess destination."""
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if failed:
        response_context["functionError"] = "Unhandled"
    return {
        "version": "1.0",
        "timestamp": iso_millis(at),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": request_payload,
        "responseContext": response_context,
        "responsePayload": response,
    }
