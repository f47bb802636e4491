"""Hourly schedule: birthday and anniversary greetings for contacts whose local day and hour it is.

A replayed or retried invocation sends nothing twice: the sent-message ledger holds each greeting
once per contact, occasion and local year.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from crm_core.observability import get_logger, get_metrics
from crm_core.occasions import send_occasions

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = get_logger()
metrics = get_metrics()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    """Run the occasions once; errors propagate so the scheduled invocation is retried (idempotent)."""
    logger.info("occasions run starts", extra={"scheduled_for": event.get("time")})
    report = send_occasions(remaining_ms=context.get_remaining_time_in_millis)
    return report.as_dict()
