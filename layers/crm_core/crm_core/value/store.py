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
    from botocore.exceptions import ClientError  # noqa: PLC0415 - botocore only when a value is written

    settings = get_settings()
    for attempt in range(ATTEMPTS):
        now = clock.now()
        raw = (
            aws.dynamodb()
            .get_item(
                TableName=settings.contacts_table, Key={"contact_id": {"S": contact_id}}, ConsistentRead=True
            )
            .get("Item")
        )
        if raw is None:
            get_logger().warning("order event for a contact that does not exist: no value kept")
            return False
        contact = aws.from_dynamodb(raw)
        current = contact.get("value") or {}
        state = change(current.get("state") or figures.empty_state())
        if state is None:
            return False
        # read_sketch creates the empty item the first time, so the ADDs below find their maps
        value, top, deltas = assess(state, read_sketch(), now, old_cells=current.get("cells"))
        unchanged = {k: v for k, v in value.items() if k != "computed_at"} == {
            k: v for k, v in _normalized(current).items() if k != "computed_at"
        }
        if claim is None and unchanged and bool(contact.get("most_valuable")) == top:
            return False
        version = contact.get("version")
        values: dict[str, Any] = {
            ":value": aws.to_attribute(_stored(value)),
            ":top": {"BOOL": top},
            ":next": {"N": str(int(version or 0) + 1)},
            ":now": {"S": contact_time(now)},
        }
        condition = "attribute_not_exists(version)"
        if version is not None:
            condition, values[":read"] = "version = :read", {"N": str(int(version))}
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
                "Update": {
                    "TableName": settings.contacts_table,
                    "Key": {"contact_id": {"S": contact_id}},
                    "UpdateExpression": (
                        "SET #value = :value, most_valuable = :top, version = :next, updated_at = :now"
                    ),
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#value": "value"},
                    "ExpressionAttributeValues": values,
                }
            }
        )
        if deltas:
            names: dict[str, str] = {}
            parts: list[str] = []
            sketch_values: dict[str, Any] = {}
            for index, ((histogram, bucket), step) in enumerate(sorted(deltas.items())):
                names[f"#h{index}"], names[f"#b{index}"] = histogram, bucket
                sketch_values[f":d{index}"] = {"N": str(step)}
                parts.append(f"#h{index}.#b{index} :d{index}")
            items.append(
                {
                    "Update": {
                        "TableName": settings.loyalty_table,
                        "Key": SKETCH_KEY,
                        "UpdateExpression": "ADD " + ", ".join(parts),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": sketch_values,
                    }
                }
            )
        try:
            aws.dynamodb().transact_write_items(TransactItems=items)  # type: ignore[arg-type]
            return True
        except ClientError as exc:
            reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
            if claim is not None and reasons and reasons[0] == "ConditionalCheckFailed":
                return False  # this event was counted before: a replay
            if aws.error_code(exc) not in {"TransactionCanceledException", "TransactionConflictException"}:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise RetryableError("the contact's value kept changing under us; retry")


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
