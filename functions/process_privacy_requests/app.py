"""Privacy queue -> export or erasure of one person, resumed by the queue's redelivery after a failure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from crm_core.observability import get_logger, lambda_entry
from crm_core.privacy import jobs

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = get_logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    outcome = jobs.run_message(record.body)
    logger.info(
        "privacy request ran", extra={"request_id": outcome["request_id"], "status": outcome["status"]}
    )


@lambda_entry("Records[0].messageId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event, record_handler, processor, context)
