"""The lifecycle's triggers: the daily review (schedule) and signals from the CRM's event bus
(survey answered, case opened or resolved, engagement such as a click)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths

from crm_core.lifecycle.signals import handle_bus_event
from crm_core.observability import lambda_entry

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_entry(correlation_paths.EVENT_BRIDGE)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Returns what was done; raises (Lambda retries, then the on-failure destination) when a step
    failed. Everything is safe to repeat."""
    return handle_bus_event(event)
