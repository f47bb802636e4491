"""Every 5 minutes: warn teams at 75% of an SLA target and escalate breaches, each level once."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from crm_core.cases.escalation import run
from crm_core.observability import get_logger, get_metrics

logger = get_logger()
metrics = get_metrics()


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="id")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = asdict(run())
    logger.info("escalation run", extra=report)
    return report
