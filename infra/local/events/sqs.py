"""A Lambda SQS event's record, from the message boto3's `receive_message` returns."""

from __future__ import annotations

import hashlib
from typing import Any

_SYSTEM_ATTRIBUTES = frozenset(
    {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
        "MessageGroupId",
        "MessageDeduplicationId",
        "SequenceNumber",
        "AWSTraceHeader",
    }
)


def sqs_record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of a Lambda SQS event, from a boto3 `receive_message` message."""
    attributes = {k: v for k, v in message.get("Attributes", {}).items() if k in _SYSTEM_ATTRIBUTES}
    message_attributes = {
        name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
    }
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


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """boto3's message attribute in the Lambda event's spelling (an absent value is left out)."""
    converted = {
        "stringValue": value.get("StringValue"),
        "binaryValue": value.get("BinaryValue"),
        "stringListValues": value.get("StringListValues", []),
        "binaryListValues": value.get("BinaryListValues", []),
        "dataType": value["DataType"],
    }
    return {k: v for k, v in converted.items() if not (k in {"stringValue", "binaryValue"} and v is None)}
