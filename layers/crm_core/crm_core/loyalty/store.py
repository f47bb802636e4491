"""Data access of loyalty: read a contact's account, and write one change as ONE TransactWriteItems.

A change always holds the ledger entry (condition: `attribute_not_exists`, so a replay cannot
append it twice) first and the balance item (condition: the `version` read, so two writers
cannot both spend the same points) second, then whatever else moves with them: the order record,
a lot marker, the contact. The transaction is built here, in this order, so that the
cancellation reasons DynamoDB returns (one per item, same order) can be read back:

- the entry's condition failed -> `AlreadyApplied` (a replay: success, nothing changed);
- another condition failed or the transaction conflicted -> `WriteConflict` (read again, retry);
- throttling -> `RetryableError` (the caller's trigger retries later; nothing was written).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, PutError

from crm_core import aws
from crm_core.errors import RetryableError
from crm_core.loyalty.account import Account, Lot, Notice
from crm_core.models.base import save_if
from crm_core.models.contacts import Contact
from crm_core.models.loyalty import (
    BALANCE_KEY,
    LedgerEntry,
    LotMarker,
    LoyaltyBalance,
    OrderRecord,
    day_key,
    notice_map,
)

if TYPE_CHECKING:
    from pynamodb.expressions.condition import Condition
    from pynamodb.expressions.update import Action

THROTTLED = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})


class AlreadyApplied(Exception):  # an outcome, not a failure
    """The entry exists: this change was applied before."""


class WriteConflict(Exception):
    """Someone else changed the account (or contact) since it was read: read again and retry."""


@dataclass
class Snapshot:
    """What a change is planned from."""

    account: Account
    contact: Contact | None
    entry: LedgerEntry | None
    order: OrderRecord | None = None


@dataclass
class Change:
    """Everything one movement writes, in one transaction."""

    entry: LedgerEntry
    account: Account
    order: OrderRecord | None = None
    new_lot: LotMarker | None = None
    spent_lot: LotMarker | None = None
    new_contact: Contact | None = None
    contact_update: tuple[Contact, list[Action]] | None = None
    balance_condition: Condition | None = None


# ---- reading -----------------------------------------------------------------------------------
def _get(model: Any, contact_id: str, key: str) -> Any:
    try:
        return model.get(contact_id, key, consistent_read=True)
    except DoesNotExist:
        return None


def load_account(contact_id: str) -> Account:
    """The contact's account (an empty one when it has none yet)."""
    item: LoyaltyBalance | None = _get(LoyaltyBalance, contact_id, BALANCE_KEY)
    return Account(contact_id) if item is None else to_account(item)


def load_contact(contact_id: str) -> Contact | None:
    """The contact (consistent read), None when there is none."""
    try:
        return Contact.get(contact_id, consistent_read=True)
    except DoesNotExist:
        return None


def load_entry(contact_id: str, entry_key: str) -> LedgerEntry | None:
    """The ledger entry `entry_key` of a contact, None when there is none."""
    return _get(LedgerEntry, contact_id, entry_key)  # type: ignore[no-any-return]


def snapshot(contact_id: str, entry_key: str, *, order_id: str | None = None) -> Snapshot:
    """What a change needs, read in ONE consistent BatchGetItem round trip (the transaction's
    conditions catch any race since). Raises RetryableError when DynamoDB throttles."""
    loyalty_table, contacts_table = LoyaltyBalance.Meta.table_name, Contact.Meta.table_name
    keys = [BALANCE_KEY, entry_key] + ([f"order#{order_id}"] if order_id else [])
    found = _batch_get(
        {
            loyalty_table: {
                "Keys": [{"contact_id": {"S": contact_id}, "entry_key": {"S": key}} for key in keys],
                "ConsistentRead": True,
            },
            contacts_table: {"Keys": [{"contact_id": {"S": contact_id}}], "ConsistentRead": True},
        },
        contacts_table,
    )
    balance = found.get(BALANCE_KEY)
    return Snapshot(
        account=to_account(LoyaltyBalance.from_raw_data(balance)) if balance else Account(contact_id),
        contact=_from_raw(Contact, found.get("contact")),
        entry=_from_raw(LedgerEntry, found.get(entry_key)),
        order=_from_raw(OrderRecord, found.get(f"order#{order_id}")),
    )


def _batch_get(request: dict[str, Any], contacts_table: str) -> dict[str, dict[str, Any]]:
    """The raw items of one BatchGetItem by entry key (the contact's as "contact"), asking again for
    unprocessed keys. Raises RetryableError when DynamoDB throttles or keeps keys unprocessed."""
    found: dict[str, dict[str, Any]] = {}
    for attempt in range(5):
        try:
            response = aws.dynamodb().batch_get_item(RequestItems=request)
        except Exception as exc:
            if aws.is_transient(exc):
                raise RetryableError(f"DynamoDB is throttling: {aws.error_code(exc)}") from exc
            raise
        for table, items in response.get("Responses", {}).items():
            for item in items:
                found["contact" if table == contacts_table else item["entry_key"]["S"]] = item
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return found
        _backoff(attempt)
    raise RetryableError("DynamoDB left keys unprocessed; try again")


def _from_raw(model: Any, raw: dict[str, Any] | None) -> Any:
    return None if raw is None else model.from_raw_data(raw)


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(0.2, 0.01 * 2**attempt)))  # noqa: S311 - jitter, not secrecy


# ---- mapping -----------------------------------------------------------------------------------
def to_account(item: LoyaltyBalance) -> Account:
    """The stored balance item as an Account the pure ledger code works on."""
    notice = None
    if item.notice is not None:
        notice = Notice(
            tier=item.notice.tier,
            previous=item.notice.previous,
            on=date.fromisoformat(item.notice.on),
            upgrade=bool(item.notice.upgrade),
        )
    return Account(
        contact_id=item.contact_id,
        balance=int(item.balance),
        lifetime_points=int(item.lifetime_points),
        lots=[Lot(i, int(p), date.fromisoformat(e), date.fromisoformat(x)) for i, p, e, x in item.lots or []],
        earned={str(month): int(points) for month, points in (item.earned or {}).items()},
        tier=item.tier,
        tier_since=date.fromisoformat(item.tier_since) if item.tier_since else None,
        purchases=int(item.purchases),
        notice=notice,
        review_on=date.fromisoformat(item.review_key.split("#")[0]) if item.review_key else None,
        version=item.version,
    )


def lot_moves(changes: dict[str, int], *accounts: Account) -> list[list[Any]]:
    """A movement's lot changes, for its entry: [lot id, points, expires on] (from the first account
    holding the lot: before a debit empties it, after a credit creates it)."""
    moves: list[list[Any]] = []
    for lot_id, points in changes.items():
        lot = next((found for a in accounts if (found := a.lot(lot_id)) is not None), None)
        moves.append([lot_id, points, lot.expires_on.isoformat() if lot else ""])
    return moves


def to_item(account: Account, *, now: datetime) -> LoyaltyBalance:
    """The balance item that stores `account`, stamped at `now`."""
    item = LoyaltyBalance(
        account.contact_id,
        BALANCE_KEY,
        balance=account.balance,
        lifetime_points=account.lifetime_points,
        lots=[
            [lot.id, lot.points, lot.earned_on.isoformat(), lot.expires_on.isoformat()]
            for lot in account.lots
        ],
        earned=dict(sorted(account.earned.items())),
        tier=account.tier,
        tier_since=account.tier_since.isoformat() if account.tier_since else None,
        purchases=account.purchases,
        notice=None
        if account.notice is None
        else notice_map(
            account.notice.tier,
            account.notice.previous,
            account.notice.on.isoformat(),
            account.notice.upgrade,
        ),
        review_key=day_key(account.review_on.isoformat(), account.contact_id) if account.review_on else None,
        updated_at=now,
    )
    if account.version is not None:  # None: a new account, written on condition it does not exist
        item.version = account.version
    return item


def lot_marker(contact_id: str, lot: Lot) -> LotMarker:
    """The marker that files a lot under its expiry day, so the daily run finds it."""
    return LotMarker(
        contact_id,
        f"lot#{lot.id}",
        expiry_key=day_key(lot.expires_on.isoformat(), contact_id),
        expires_on=lot.expires_on.isoformat(),
    )


# ---- writing -----------------------------------------------------------------------------------
def commit(change: Change, *, now: datetime) -> None:
    """Write the change in one TransactWriteItems; raises AlreadyApplied, WriteConflict or
    RetryableError (throttled), and lets any other AWS error through."""
    entry_condition = LedgerEntry.contact_id.does_not_exist()
    items: list[dict[str, Any]] = [
        {"Put": change.entry.get_save_kwargs_from_instance(condition=entry_condition)},
        {
            "Put": to_item(change.account, now=now).get_save_kwargs_from_instance(
                condition=change.balance_condition
            )
        },
    ]
    if change.order is not None:
        items.append({"Put": change.order.get_save_kwargs_from_instance()})
    if change.new_lot is not None:
        items.append({"Put": change.new_lot.get_save_kwargs_from_instance()})
    if change.spent_lot is not None:
        items.append({"Delete": change.spent_lot.get_delete_kwargs_from_instance()})
    if change.new_contact is not None:
        items.append(
            {
                "Put": change.new_contact.get_save_kwargs_from_instance(
                    condition=Contact.contact_id.does_not_exist()
                )
            }
        )
    if change.contact_update is not None:
        contact, actions = change.contact_update
        items.append(
            {
                "Update": contact.get_update_kwargs_from_instance(
                    actions=actions, condition=Contact.contact_id.exists()
                )
            }
        )
    transact(items)


def commit_review(
    account: Account, contact_update: tuple[Contact, list[Action]] | None, *, now: datetime
) -> None:
    """Write a tier review (no points move, so no entry): the balance and the contact's tier together;
    raises WriteConflict or RetryableError."""
    items: list[dict[str, Any]] = [{"Put": to_item(account, now=now).get_save_kwargs_from_instance()}]
    if contact_update is not None:
        contact, actions = contact_update
        items.append(
            {
                "Update": contact.get_update_kwargs_from_instance(
                    actions=actions, condition=Contact.contact_id.exists()
                )
            }
        )
    transact(items, entry_first=False)


def transact(items: list[dict[str, Any]], *, entry_first: bool = True) -> None:
    """Send one TransactWriteItems; with `entry_first` the first item is the ledger entry (module doc)."""
    try:
        aws.dynamodb().transact_write_items(TransactItems=items)  # type: ignore[arg-type]
    except Exception as exc:
        code = aws.error_code(exc)
        if code == "TransactionCanceledException":
            reasons = [
                r.get("Code", "None") for r in getattr(exc, "response", {}).get("CancellationReasons", [])
            ]
            if entry_first and reasons and reasons[0] == "ConditionalCheckFailed":
                raise AlreadyApplied from None
            if THROTTLED & set(reasons):
                raise RetryableError(f"DynamoDB throttled the transaction: {reasons}") from exc
            if {"ConditionalCheckFailed", "TransactionConflict"} & set(reasons):
                raise WriteConflict(str(reasons)) from None
            raise
        if code == "TransactionConflictException":
            raise WriteConflict(code) from None
        if aws.is_transient(exc):
            raise RetryableError(f"DynamoDB is throttling: {code}") from exc
        raise


def delete_marker(marker: LotMarker) -> None:
    """Take a spent or expired lot out of the expiry index (deleting twice is harmless)."""
    marker.delete(add_version_condition=False)


def save_balance(account: Account, *, now: datetime) -> None:
    """Write the balance item alone (a notice sent, a review moved), conditional on its version;
    raises WriteConflict when it changed since it was read, RetryableError when throttled."""
    try:
        written = save_if(to_item(account, now=now), None)  # the version condition is the model's own
    except PutError as exc:
        if aws.is_transient(exc):
            raise RetryableError(f"DynamoDB is throttling: {aws.error_code(exc)}") from exc
        raise
    if not written:
        raise WriteConflict("the balance changed since it was read")
