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

from crm_core import aws, clock
from crm_core.loyalty.errors import EventConflict
from crm_core.settings import get_settings

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
    from botocore.exceptions import ClientError  # noqa: PLC0415 - botocore comes with the client

    mine = digest(event)
    try:
        aws.dynamodb().put_item(
            TableName=get_settings().loyalty_table,
            Item={
                "contact_id": {"S": PARTITION_PREFIX + event.event_id},
                "entry_key": {"S": ITEM_KEY},
                "digest": {"S": mine},
                "type": {"S": event.type},
                "first_seen": {"S": clock.now().isoformat()},
            },
            ConditionExpression="attribute_not_exists(contact_id) OR digest = :digest",
            ExpressionAttributeValues={":digest": {"S": mine}},
        )
    except ClientError as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            raise EventConflict(
                f"event_id {event.event_id} was seen before with other content; "
                "send a new event_id for a new event"
            ) from None
        raise
