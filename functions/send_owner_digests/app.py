"""Hourly schedule: each account owner's morning digest at 08:00 local time, once per day.

A replayed or retried invocation sends nothing twice: the sent-message ledger claims each owner's
digest once per local day (crm_core.owners.digest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from crm_core.observability import get_logger, get_metrics
from crm_core.owners import digest

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = get_logger()
metrics = get_metrics()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    """Run the digests once; errors propagate so the scheduled invocation is retried (idempotent)."""
    logger.info("owner digests run starts", extra={"scheduled_for": event.get("time")})
    return {"digests": digest.run()}
