"""SNS topic of SES feedback: bounces and complaints suppress addresses (crm_core.messaging.feedback).

SNS invokes asynchronously and may deliver a message twice; every write behind it is idempotent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import SNSEvent

from crm_core.messaging import feedback
from crm_core.observability import lambda_entry

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_entry("Records[0].Sns.MessageId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    messages = [record.sns.message for record in SNSEvent(event).records]
    return feedback.record_notifications(messages).as_dict()
