"""The daily run: contacts whose stage or value may change by time alone, from a sparse index.

Only contacts with a `lifecycle_review` day are in the `lifecycle-review` index (KEYS_ONLY, keyed
"YYYY-MM-DD#shard"); the run reads today's partitions and those of the last few days (a missed run is
caught up), refreshes each contact's value and stage, and moves its review day forward. No Scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from crm_core import aws, clock, value
from crm_core.lifecycle.service import REVIEW_SHARDS, reevaluate
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings

INDEX = "lifecycle-review"


@dataclass
class DailyOutcome:
    """What one daily review did: contacts reviewed and how many entered each stage."""

    reviewed: int = 0
    changed: dict[str, int] = field(default_factory=dict)  # new stage -> contacts


def due_contacts(day_key: str) -> list[str]:
    """Contact ids filed under one review partition (all pages)."""
    ids: list[str] = []
    kwargs = {
        "TableName": get_settings().contacts_table,
        "IndexName": INDEX,
        "KeyConditionExpression": "lifecycle_review = :k",
        "ExpressionAttributeValues": {":k": {"S": day_key}},
    }
    while True:
        page = aws.dynamodb().query(**kwargs)  # type: ignore[arg-type]
        ids += [item["contact_id"]["S"] for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return ids
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def run_daily() -> DailyOutcome:
    """Review every contact due today or in the last LIFECYCLE_CATCH_UP_DAYS days. Safe to run again:
    a reviewed contact's review day has moved on. Raises what DynamoDB raises (the schedule retries)."""
    outcome, today = DailyOutcome(), clock.now().date()
    for back in range(get_settings().lifecycle_catch_up_days, -1, -1):
        day = today - timedelta(days=back)
        for shard in range(REVIEW_SHARDS):
            for contact_id in due_contacts(f"{day.isoformat()}#{shard}"):
                value.refresh(contact_id)
                stage = reevaluate(contact_id, cause="daily review")
                outcome.reviewed += 1
                if stage:
                    outcome.changed[stage] = outcome.changed.get(stage, 0) + 1
    if outcome.reviewed:  # that the run ran is AWS/Lambda Invocations (free); a zero here would be billed
        count("LifecycleReviewed", outcome.reviewed)
    get_logger().info("lifecycle daily run", extra={"reviewed": outcome.reviewed, "changed": outcome.changed})
    return outcome
