"""Events shaped as AWS delivers them to Lambda, one module per source: the HTTP API, EventBridge
(schedules and buses), SQS, SNS, SES inbound, S3 and async-invocation destinations.

The local stack's triggers and the tests build their events here, and nowhere else.
"""

from infra.local.events.destinations import destination_record
from infra.local.events.eventbridge import bus_event, scheduled_event, ses_event
from infra.local.events.http import http_event, is_text
from infra.local.events.s3 import s3_event
from infra.local.events.ses import (
    VERDICT_VALUES,
    VERDICTS,
    recipients_of,
    ses_inbound_event,
    ses_mail_and_receipt,
    ses_message_id,
    ses_received_notification,
)
from infra.local.events.sns import sns_event
from infra.local.events.sqs import sqs_record

__all__ = [
    "VERDICTS",
    "VERDICT_VALUES",
    "bus_event",
    "destination_record",
    "http_event",
    "is_text",
    "recipients_of",
    "s3_event",
    "scheduled_event",
    "ses_event",
    "ses_inbound_event",
    "ses_mail_and_receipt",
    "ses_message_id",
    "ses_received_notification",
    "sns_event",
    "sqs_record",
]
