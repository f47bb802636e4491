"""SES feedback from EventBridge's default bus: bounces and complaints suppress addresses, sends and
deliveries settle the ledger (crm_core.messaging.feedback).

The rule matches SES's events of our configuration set; each invocation carries one, whose `detail` is
the record SES publishes. EventBridge and Lambda's async retries may deliver it twice; every write
behind it is idempotent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crm_core.messaging import feedback
from crm_core.observability import lambda_entry

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_entry("detail.mail.messageId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return feedback.record_event(event).as_dict()
