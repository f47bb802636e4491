"""A Lambda SNS event: one notification of a topic."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from crm_core import clock


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
                    "Timestamp": clock.iso(at, milliseconds=True),
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
