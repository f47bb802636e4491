"""Every five minutes: send the follow-up steps that are due (crm_core.campaigns.sender.run).

The scheduled event carries nothing the run needs; the run's own clock decides what is due. It
stops with a safety margin before the Lambda timeout and leaves the rest for the next run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from crm_core.campaigns import sender
from crm_core.observability import lambda_entry

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_entry(correlation_paths.EVENT_BRIDGE)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = sender.run(remaining_ms=context.get_remaining_time_in_millis)
    return report.as_dict()
