"""EventBridge events as Lambda receives them: a schedule's firing, and an event put on a bus."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from crm_core import clock
from infra.template import ACCOUNT_ID


def scheduled_event(
    *, at: datetime, region: str, resource_arn: str, scheduler: bool, payload: str | None = None
) -> Any:
    """What a schedule delivers: its Input when it has one, else EventBridge's Scheduled Event.

    EventBridge rules (`Schedule`) send `detail: {}`; EventBridge Scheduler (`ScheduleV2`) sends its
    default notification with source `aws.scheduler` and the detail as the string "{}".
    """
    if payload is not None:
        return json.loads(payload)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler" if scheduler else "aws.events",
        "account": ACCOUNT_ID,
        "time": clock.iso(at),
        "region": region,
        "resources": [resource_arn],
        "detail": "{}" if scheduler else {},
    }


def bus_event(entry: dict[str, Any], *, at: datetime, region: str) -> dict[str, Any]:
    """The event a rule's target receives for one PutEvents entry (its Detail is a JSON string)."""
    detail = entry.get("Detail") or "{}"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry.get("DetailType", ""),
        "source": entry.get("Source", ""),
        "account": ACCOUNT_ID,
        "time": clock.iso(at),
        "region": region,
        "resources": list(entry.get("Resources") or []),
        "detail": json.loads(detail) if isinstance(detail, str) else detail,
    }
