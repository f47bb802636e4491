"""Hourly schedule: each account owner's morning digest at 08:00 local time, once per day.

A replayed or retried invocation sends nothing twice: the sent-message ledger claims each owner's
digest once per local day (crm_core.owners.digest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from crm_core.observability import get_logger, lambda_entry
from crm_core.owners import digest

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = get_logger()


@lambda_entry(correlation_paths.EVENT_BRIDGE)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Run the digests once; errors propagate so the scheduled invocation is retried (idempotent)."""
    logger.info("owner digests run starts", extra={"scheduled_for": event.get("time")})
    return {"digests": digest.run()}
