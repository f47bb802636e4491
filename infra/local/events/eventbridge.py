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


# SES's event types and the detail-type EventBridge gives each on the default bus.
SES_DETAIL_TYPES = {
    "Send": "Email Sent",
    "Delivery": "Email Delivered",
    "Bounce": "Email Bounced",
    "Complaint": "Email Complaint Received",
    "Reject": "Email Rejected",
    "Open": "Email Opened",
    "Click": "Email Clicked",
    "Rendering Failure": "Email Rendering Failed",
    "DeliveryDelay": "Email Delivery Delayed",
    "Subscription": "Email Subscribed",
}


def ses_event(record: Any, *, configuration_set: str, at: datetime, region: str) -> dict[str, Any]:
    """What SES puts on the default bus for one event of a configuration set: `record` (as SES publishes
    it, `eventType` first; an identity notification's `notificationType` is accepted too) becomes the
    detail, its mail tagged with the set as SES tags it (`ses:configuration-set`).

    Raises ValueError when `record` names no event type SES publishes or its mail is not an object."""
    kind = record.get("eventType") or record.get("notificationType") if isinstance(record, dict) else None
    if not isinstance(kind, str) or kind not in SES_DETAIL_TYPES:
        raise ValueError(f"eventType must be one of {sorted(SES_DETAIL_TYPES)}, not {kind!r}")
    if not isinstance(record.get("mail") or {}, dict):
        raise ValueError("mail must be an object")
    mail = dict(record.get("mail") or {})
    mail["tags"] = {**(mail.get("tags") or {}), "ses:configuration-set": [configuration_set]}
    detail = {k: v for k, v in record.items() if k != "notificationType"}
    detail = {"eventType": kind, **detail, "mail": mail}
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": SES_DETAIL_TYPES[str(kind)],
        "source": "aws.ses",
        "account": ACCOUNT_ID,
        "time": clock.iso(at),
        "region": region,
        "resources": [],
        "detail": detail,
    }
