"""Orders queue -> loyalty ledger (purchases earn, refunds reverse, adjustments correct), then the
contact's value and lifecycle stage.

Partial batch failures: a failed record is redelivered alone, never blocking the batch; on its
last receive it is parked in the DLQ with its reason (crm_core.queues explains why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crm_core.loyalty.events import OrderEventRecord
from crm_core.observability import get_logger, lambda_entry
from crm_core.queues import BatchResponse, DeadLetteringBatch
from crm_core.settings import get_settings
from crm_core.value.orders import on_order_event

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from crm_core.loyalty.ledger import Applied

logger = get_logger()
batch = DeadLetteringBatch(
    model=OrderEventRecord,
    dead_letter_queue_url=lambda: get_settings().orders_dead_letter_queue_url,
    max_receive_count=lambda: get_settings().orders_max_receive_count,
)


def record_handler(record: OrderEventRecord) -> Applied | None:
    event = record.body
    logger.append_keys(order_event_id=event.event_id, order_event_type=event.type)
    applied = on_order_event(event)
    logger.info("order event applied", extra={"replay": bool(applied and applied.replay)})
    return applied  # its `replay` tells the batch (and the local stack's report) it was a repeat


@lambda_entry("Records[0].messageId")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> BatchResponse:
    return batch.process(event, record_handler)
