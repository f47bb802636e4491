"""SES receipt rule, Lambda action: an email to the support address becomes a case or joins one.

SES has already stored the message in the inbound mail bucket; the case is built from that copy.
Transient faults raise, so Lambda retries the event (bounded, then AsyncFailureQueue); a replay
changes nothing that already happened.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.cases.intake import receive
from crm_core.cases.ses_event import SesEvent
from crm_core.observability import get_logger, lambda_entry

logger = get_logger()


@lambda_entry("Records[0].ses.mail.messageId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Our own model (cases/ses_event.py): Powertools' SesModel lacks dkimVerdict; its parser costs ~140 ms.
    received = receive(SesEvent.from_event(event))
    for outcome in received:
        logger.info("case updated", extra={k: outcome[k] for k in ("case_id", "outcome", "team", "ack")})
    return {"cases": received}
