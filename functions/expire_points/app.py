"""Daily schedule: expire due lots, remind contacts of points about to expire, review tiers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from crm_core.loyalty import run_daily
from crm_core.observability import lambda_entry

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_entry(correlation_paths.EVENT_BRIDGE)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Returns the run's report; raises (so Lambda retries, then the on-failure destination) when a
    step failed; everything done before is kept and not redone."""
    return run_daily().as_dict()
