"""Each order event id names one event: the same id with other content is a conflict, never applied.

Purchases and refunds are keyed by their order and refund ids, so an event id reused on another
order would otherwise apply as a new movement in silence. Before an event is applied, its id is
claimed in the loyalty table (partition `event#<event_id>`, one item) with a digest of its
content; a later event with that id must carry the same content. The claim comes first: a crash
after it is healed by the redelivery (same digest, then the idempotent ledger write).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crm_core import clock
from crm_core.loyalty.errors import EventConflict
from crm_core.models.base import save_if
from crm_core.models.loyalty import EventClaim

if TYPE_CHECKING:
    from crm_core.loyalty.events import Adjustment, Purchase, Refund

PARTITION_PREFIX = "event#"
ITEM_KEY = "event"


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # "49.90" and "49.900" are one amount
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def digest(event: Purchase | Refund | Adjustment) -> str:
    """A digest of what the event says (amounts compared by value, times by instant)."""
    content = {k: _canonical(v) for k, v in sorted(asdict(event).items()) if k != "event_id"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def claim(event: Purchase | Refund | Adjustment) -> None:
    """Record the event id with its content, or confirm a replay; raises EventConflict if the id was
    seen with other content, and what DynamoDB raises otherwise (throttling: the caller retries)."""
    mine = digest(event)
    item = EventClaim(
        PARTITION_PREFIX + event.event_id,
        ITEM_KEY,
        digest=mine,
        event_type=event.type,
        first_seen=clock.now().isoformat(),
    )
    if not save_if(item, EventClaim.contact_id.does_not_exist() | (EventClaim.digest == mine)):
        raise EventConflict(
            f"event_id {event.event_id} was seen before with other content; "
            "send a new event_id for a new event"
        )
