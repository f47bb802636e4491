"""Customer value in DynamoDB: the contact's own state and the base's sketch, moved together.

One order event (or one daily refresh) is ONE TransactWriteItems:
- a claim `value#<event_id>` in the loyalty table (`attribute_not_exists`): a replayed event is
  cancelled here and changes nothing (the daily refresh has no claim: it is a recomputation);
- the contact's `value` map and `most_valuable` flag, on the version the figures were computed
  from (`version = :read`, bumped, as the contact's other writers do): a concurrent writer makes us
  read again;
- `ADD` on the sketch's bucket counts: the contact leaves its old cells and enters its new ones.
"""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crm_core import aws, clock
from crm_core.errors import RetryableError
from crm_core.lifecycle.service import contact_time
from crm_core.observability import get_logger
from crm_core.settings import get_settings
from crm_core.value import figures, sketch
from crm_core.value.segments import segment

if TYPE_CHECKING:
    from collections.abc import Callable

    from crm_core.loyalty.events import Adjustment, Purchase, Refund

SKETCH_KEY = {"contact_id": {"S": "value#sketch"}, "entry_key": {"S": "sketch"}}
CLAIM_PREFIX = "value#"
ATTEMPTS = 5
HISTOGRAMS = ("r", "f", "m")


def _ensure_sketch() -> None:
    """Create the empty sketch item once (maps must exist before ADD can reach inside them)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - botocore only when the sketch is written

    try:
        aws.dynamodb().put_item(
            TableName=get_settings().loyalty_table,
            Item={**SKETCH_KEY, **{h: {"M": {}} for h in HISTOGRAMS}},
            ConditionExpression="attribute_not_exists(contact_id)",
        )
    except ClientError as exc:
        if aws.error_code(exc) != "ConditionalCheckFailedException":
            raise


def read_sketch() -> dict[str, dict[str, int]]:
    """The base's histograms (bucket -> customers); empty ones before the first customer."""
    item = (
        aws.dynamodb()
        .get_item(TableName=get_settings().loyalty_table, Key=SKETCH_KEY, ConsistentRead=True)
        .get("Item")
    )
    if item is None:
        _ensure_sketch()
        return {h: {} for h in HISTOGRAMS}
    plain = aws.from_dynamodb(item)
    return {h: {k: int(v) for k, v in (plain.get(h) or {}).items() if int(v)} for h in HISTOGRAMS}


def _cells(f: figures.Figures) -> dict[str, str] | None:
    if f.last_order is None:
        return None  # not a customer yet: not in the base's histograms
    return {
        "r": sketch.recency_bucket(datetime.fromisoformat(f.last_order)) or "",
        "f": sketch.frequency_bucket(f.frequency_12m),
        "m": sketch.monetary_bucket(f.monetary_12m),
    }


def _deltas(old: dict[str, str] | None, new: dict[str, str] | None) -> dict[tuple[str, str], int]:
    deltas: dict[tuple[str, str], int] = {}
    for cells, step in ((old, -1), (new, 1)):
        for name, bucket in (cells or {}).items():
            deltas[(name, bucket)] = deltas.get((name, bucket), 0) + step
    return {k: v for k, v in deltas.items() if v}


def assess(
    state: dict[str, Any], histograms: dict[str, dict[str, int]], now: datetime, *, old_cells: Any = None
) -> tuple[dict[str, Any], bool, dict[tuple[str, str], int]]:
    """The contact's `value` map, its most-valuable flag and the sketch deltas, for `state` at `now`."""
    from crm_core.lifecycle.rules import load_rules  # noqa: PLC0415 - the silence limit is a lifecycle rule
    from crm_core.lifecycle.stages import silence_limit_days  # noqa: PLC0415 - with load_rules above

    state = figures.prune(state, now)
    computed = figures.compute(state, now, silence_limit_days=silence_limit_days(state, load_rules()))
    cells = _cells(computed)
    deltas = _deltas(old_cells, cells)
    after = {h: dict(histograms.get(h, {})) for h in HISTOGRAMS}
    for (name, bucket), step in deltas.items():
        after[name][bucket] = after[name].get(bucket, 0) + step
    value: dict[str, Any] = {"state": state, "figures": computed.as_item(), "computed_at": now.isoformat()}
    top = False
    if cells is not None:
        scores = {h: sketch.quintile(after[h], cells[h]) for h in HISTOGRAMS}
        value.update(cells=cells, rfm=f"{scores['r']}{scores['f']}{scores['m']}")
        value["segment"] = segment(scores["r"], scores["f"])
        top = sketch.in_top_share(after["m"], cells["m"], get_settings().most_valuable_share)
    return value, top, deltas


def _transact(
    contact_id: str,
    change: Callable[[dict[str, Any]], dict[str, Any] | None],
    *,
    claim: str | None,
) -> bool:
    """Read, change and write the contact's value; False when the claim shows a replay or nothing
    changed. Raises RetryableError when writers keep racing or DynamoDB throttles."""
    for attempt in range(ATTEMPTS):
        written = _attempt(contact_id, change, claim=claim)
        if written is not None:
            return written
        time.sleep(0.05 * (attempt + 1))
    raise RetryableError("the contact's value kept changing under us; retry")


def _attempt(
    contact_id: str,
    change: Callable[[dict[str, Any]], dict[str, Any] | None],
    *,
    claim: str | None,
) -> bool | None:
    """One read, change and write: True when written, False when there is nothing to write (a replay,
    no contact, no change), None when another writer got in first (read again)."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - botocore only when a value is written

    now = clock.now()
    contact = _read_contact(contact_id)
    if contact is None:
        get_logger().warning("order event for a contact that does not exist: no value kept")
        return False
    current = contact.get("value") or {}
    state = change(current.get("state") or figures.empty_state())
    if state is None:
        return False
    # read_sketch creates the empty item the first time, so the ADDs below find their maps
    value, top, deltas = assess(state, read_sketch(), now, old_cells=current.get("cells"))
    if claim is None and _same_value(value, current) and bool(contact.get("most_valuable")) == top:
        return False
    items = _write_items(contact_id, contact.get("version"), value, top, deltas, claim=claim, now=now)
    try:
        aws.dynamodb().transact_write_items(TransactItems=items)  # type: ignore[arg-type]
    except ClientError as exc:
        if claim is not None and _claim_failed(exc):
            return False  # this event was counted before: a replay
        if aws.error_code(exc) not in {"TransactionCanceledException", "TransactionConflictException"}:
            raise
        return None
    return True


def _read_contact(contact_id: str) -> dict[str, Any] | None:
    """The contact item, plain (consistent read); None when it does not exist."""
    return aws.read_item(get_settings().contacts_table, {"contact_id": contact_id})


def _same_value(value: dict[str, Any], current: dict[str, Any]) -> bool:
    """True when the value map `assess` built says what the stored one says (its time aside)."""
    return {k: v for k, v in value.items() if k != "computed_at"} == {
        k: v for k, v in _normalized(current).items() if k != "computed_at"
    }


def _claim_failed(exc: Any) -> bool:
    """True when the transaction was cancelled by its first item, the event's claim."""
    reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
    return bool(reasons) and reasons[0] == "ConditionalCheckFailed"


def _write_items(
    contact_id: str,
    version: Any,
    value: dict[str, Any],
    top: bool,
    deltas: dict[tuple[str, str], int],
    *,
    claim: str | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """The transaction (module doc): the event's claim first, then the contact, then the sketch."""
    settings = get_settings()
    items: list[dict[str, Any]] = []
    if claim is not None:
        items.append(
            {
                "Put": {
                    "TableName": settings.loyalty_table,
                    "Item": {
                        "contact_id": {"S": CLAIM_PREFIX + claim},
                        "entry_key": {"S": "value"},
                        "for_contact": {"S": contact_id},
                        "at": {"S": now.isoformat()},
                    },
                    "ConditionExpression": "attribute_not_exists(contact_id)",
                }
            }
        )
    items.append(
        {
            "Update": _contact_update(
                settings.contacts_table, contact_id, version=version, value=value, top=top, now=now
            )
        }
    )
    if deltas:
        items.append({"Update": _sketch_update(settings.loyalty_table, deltas)})
    return items


def _contact_update(
    table: str, contact_id: str, *, version: Any, value: dict[str, Any], top: bool, now: datetime
) -> dict[str, Any]:
    """The contact's `value` and `most_valuable`, on the version they were computed from (bumped)."""
    values: dict[str, Any] = {
        ":value": aws.to_attribute(_stored(value)),
        ":top": {"BOOL": top},
        ":next": {"N": str(int(version or 0) + 1)},
        ":now": {"S": contact_time(now)},
    }
    condition = "attribute_not_exists(version)"
    if version is not None:
        condition, values[":read"] = "version = :read", {"N": str(int(version))}
    return {
        "TableName": table,
        "Key": {"contact_id": {"S": contact_id}},
        "UpdateExpression": "SET #value = :value, most_valuable = :top, version = :next, updated_at = :now",
        "ConditionExpression": condition,
        "ExpressionAttributeNames": {"#value": "value"},
        "ExpressionAttributeValues": values,
    }


def _sketch_update(table: str, deltas: dict[tuple[str, str], int]) -> dict[str, Any]:
    """`ADD` of each delta to its bucket of the base's sketch."""
    names: dict[str, str] = {}
    parts: list[str] = []
    values: dict[str, Any] = {}
    for index, ((histogram, bucket), step) in enumerate(sorted(deltas.items())):
        names[f"#h{index}"], names[f"#b{index}"] = histogram, bucket
        values[f":d{index}"] = {"N": str(step)}
        parts.append(f"#h{index}.#b{index} :d{index}")
    return {
        "TableName": table,
        "Key": SKETCH_KEY,
        "UpdateExpression": "ADD " + ", ".join(parts),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _normalized(current: dict[str, Any]) -> dict[str, Any]:
    """The stored map as `assess` builds it (DynamoDB gives numbers back as Decimal)."""
    return _restore(current) if current else {}


def _stored(value: Any) -> Any:
    """Python -> DynamoDB-ready (no float; None kept as NULL)."""
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items()}
    if isinstance(value, bool | str | int | Decimal) or value is None:
        return value
    return str(value)


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    return value


def record_order_event(contact_id: str, event: Purchase | Refund | Adjustment) -> bool:
    """Count a purchase or refund in the contact's value, once per event id; True if this call
    counted it. Adjustments move points, not money: ignored. Raises RetryableError."""
    if event.type == "adjustment":
        return False
    occurred = event.occurred_at

    def change(state: dict[str, Any]) -> dict[str, Any]:
        if event.type == "purchase":
            return figures.apply_purchase(state, occurred, event.amount)
        return figures.apply_refund(state, occurred, event.amount)

    return _transact(contact_id, change, claim=event.event_id)


def refresh(contact_id: str) -> bool:
    """Recompute the contact's figures at the clock's now (the window moved, the base moved);
    True when something was written. Raises RetryableError."""
    return _transact(contact_id, lambda state: state, claim=None)


def current(contact: dict[str, Any]) -> dict[str, Any]:
    """The stored value map of a contact item (plain), restored to Python numbers."""
    return _normalized(contact.get("value") or {})
