"""Every 5 minutes: warn teams at 75% of an SLA target and escalate breaches, each level once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.cases.escalation import run
from crm_core.observability import get_logger, lambda_entry

logger = get_logger()


@lambda_entry("id")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = run().as_dict()
    logger.info("escalation run", extra=report)
    return report
