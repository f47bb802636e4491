"""`crm.lifecycle.changed` on the CRM's EventBridge bus (CrmEventBus; EVENT_BUS_NAME).

detail: {"contact_id", "change_id", "from", "to", "at", "reason", "cause"}. Delivery is at least
once: a subscriber that must act once keys on `change_id`.
"""

from __future__ import annotations

import json
from typing import Any

from crm_core import aws
from crm_core.errors import RetryableError
from crm_core.settings import get_settings

SOURCE = "crm.lifecycle"
DETAIL_TYPE = "crm.lifecycle.changed"


def publish_change(contact_id: str, change: dict[str, Any], *, change_id: str) -> bool:
    """Put one change on the bus; False when no bus is configured. Raises RetryableError if
    EventBridge refused the entry."""
    detail = {
        "contact_id": contact_id,
        "change_id": change_id,
        **{k: change.get(k) for k in ("from", "to", "at", "reason", "cause")},
    }
    return publish(SOURCE, DETAIL_TYPE, detail)


def publish(source: str, detail_type: str, detail: dict[str, Any]) -> bool:
    """Put one event on the CRM's bus; False when no bus is configured (EVENT_BUS_NAME empty).
    Raises RetryableError if EventBridge refused the entry. Delivery is at least once: `detail`
    carries the id a subscriber keys on."""
    bus_name = get_settings().event_bus_name
    if not bus_name:
        return False
    answer = aws.client("events").put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": bus_name,
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        raise RetryableError(f"EventBridge refused the {detail_type} event: {answer['Entries']}")
    return True


def tell_case(kind: str, contact_id: str, case_id: str, at: str) -> bool:
    """`crm.case.opened` / `crm.case.resolved` for the lifecycle's complaint rules (`kind`: "opened"
    or "resolved"). Callers publish on every pass, replays included: the lifecycle applies each case
    id once, so a publish lost to a crash is made good by the retry."""
    detail = {"contact_id": contact_id, "case_id": case_id, f"{kind}_at": at}
    return publish("crm.cases", f"crm.case.{kind}", detail)


def tell_engagement(contact_id: str, engagement_id: str, at: str, what: str) -> bool:
    """`crm.engagement` (a reply, a click...): the contact took part. Published on every pass, like
    the case events; the lifecycle applies each `id` once."""
    detail = {"contact_id": contact_id, "id": engagement_id, "at": at, "what": what}
    return publish("crm.cases", "crm.engagement", detail)
