"""Hourly schedule: birthday and anniversary greetings for contacts whose local day and hour it is.

A replayed or retried invocation sends nothing twice: the sent-message ledger holds each greeting
once per contact, occasion and local year.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from crm_core.observability import get_logger, lambda_entry
from crm_core.occasions import send_occasions

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = get_logger()


@lambda_entry(correlation_paths.EVENT_BRIDGE)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Run the occasions once; errors propagate so the scheduled invocation is retried (idempotent)."""
    logger.info("occasions run starts", extra={"scheduled_for": event.get("time")})
    report = send_occasions(remaining_ms=context.get_remaining_time_in_millis)
    return report.as_dict()
