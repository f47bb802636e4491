"""Every movement of points: read the account, plan the change, write it in one transaction.

Each movement is keyed by its source (`purchase#<order_id>`, `refund#<refund_id>`,
`redeem#<idempotency-key>`, `expiry#<lot>`, `adjust#<event_id>`, `birthday#<year>`,
`goodwill#<case-id>`, `bonus#<source>`). If that entry exists the movement happened already and
nothing changes (a replay is a success). Otherwise the change is planned from a fresh read and
written with the entry's `attribute_not_exists` and the balance's version as conditions; when
another writer got in between, the movement is planned again from a new read.

The plans (`plan_purchase`, `plan_refund`, `plan_adjustment`, `plan_grant`, `plan_redemption`,
`plan_expiry`) are pure: a snapshot and an instant in, a `store.Change` out, no AWS call.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal
from functools import partial
from typing import TYPE_CHECKING

from crm_core import clock
from crm_core.errors import FieldError, NotFound, RetryableError, ValidationFailed
from crm_core.loyalty import store
from crm_core.loyalty.account import (
    Account,
    Notice,
    credit,
    debit,
    evaluate_tier,
    expire,
    month_key,
    record_qualifying,
    schedule_review,
)
from crm_core.loyalty.errors import EventConflict, IdempotencyKeyReused, InsufficientPoints, OutstandingDebt
from crm_core.loyalty.rules import EarningRules, rulebook
from crm_core.models.contacts import Contact, normalize_email, occasion_day
from crm_core.models.loyalty import LedgerEntry, LotMarker, LoyaltyBalance, OrderRecord
from crm_core.observability import count, get_logger

if TYPE_CHECKING:
    from pynamodb.expressions.update import Action

    from crm_core.loyalty.events import Adjustment, Purchase, Refund

MAX_ATTEMPTS = 10
KEY_LIMIT = 128


@dataclass(frozen=True)
class Applied:
    """The entry a movement wrote, or found already written (`replay`)."""

    entry_key: str
    kind: str
    points: int
    balance_after: int
    recorded_at: datetime
    replay: bool
    tier_to: str | None = None  # the tier this movement moved the contact to

    @classmethod
    def of(cls, entry: LedgerEntry, *, replay: bool) -> Applied:
        """The result of a ledger entry, `replay` when it had been applied before."""
        return cls(
            entry_key=entry.entry_key,
            kind=entry.kind,
            points=int(entry.points),
            balance_after=int(entry.balance_after),
            recorded_at=entry.recorded_at,
            replay=replay,
            tier_to=entry.tier_to,
        )


Planner = Callable[[store.Snapshot, datetime], store.Change | None]
# Called with the entry a replay found: raises when the retried movement is not the recorded one.
SameCheck = Callable[[LedgerEntry], None]


def _replayed(entry: LedgerEntry, same: SameCheck | None) -> Applied:
    if same is not None:
        same(entry)
    count("LoyaltyReplays")
    return Applied.of(entry, replay=True)


def execute(
    contact_id: str,
    entry_key: str,
    plan: Planner,
    *,
    order_id: str | None = None,
    same: SameCheck | None = None,
) -> Applied | None:
    """Apply one movement at most once. Returns the entry (None when the planner found nothing to
    write); raises what the planner raises, what `same` raises when the entry found differs from
    this movement (EventConflict, IdempotencyKeyReused), RetryableError when DynamoDB throttles or
    the account kept changing under us."""
    for attempt in range(MAX_ATTEMPTS):
        now = clock.now()
        snap = store.snapshot(contact_id, entry_key, order_id=order_id)
        if snap.entry is not None:
            return _replayed(snap.entry, same)
        change = plan(snap, now)
        if change is None:
            return None
        try:
            store.commit(change, now=now)
        except store.AlreadyApplied:
            found = store.load_entry(contact_id, entry_key)
            if found is None:  # pragma: no cover - the condition said it exists
                raise RetryableError("the entry vanished after a conflict") from None
            return _replayed(found, same)
        except store.WriteConflict:
            count("LoyaltyWriteConflicts")
            pause(attempt)
            continue
        count("LoyaltyEntries")
        get_logger().info(
            "points moved",
            extra={"contact_id": contact_id, "entry": entry_key, "points": int(change.entry.points)},
        )
        return Applied.of(change.entry, replay=False)
    raise RetryableError(f"the points account of {contact_id} kept changing; try again")


def pause(attempt: int) -> None:
    """Full-jitter backoff between optimistic retries (5 ms doubling, capped at 200 ms)."""
    time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))  # noqa: S311 - jitter, not secrecy


# ---- building blocks ---------------------------------------------------------------------------
def _entry(
    account: Account,
    entry_key: str,
    kind: str,
    points: int,
    *,
    rules_version: str,
    now: datetime,
    lots: dict[str, int],
    lot_sources: tuple[Account, ...],
    **details: object,
) -> LedgerEntry:
    sequence = (account.version or 0) + 1  # the balance version this movement writes: strictly increasing
    entry = LedgerEntry(
        account.contact_id,
        entry_key,
        kind=kind,
        points=points,
        balance_after=account.balance,
        rule_version=rules_version,
        recorded_at=now,
        history_key=f"{sequence:012d}",
        lots=store.lot_moves(lots, *lot_sources) or None,
    )
    for name, value in details.items():
        if value is not None:
            setattr(entry, name, value)
    return entry


def _tier_move(change: Notice | None) -> dict[str, str | None]:
    """The entry's `tier_from` and `tier_to` when the movement changed the tier."""
    if change is None:
        return {"tier_from": None, "tier_to": None}
    return {"tier_from": change.previous, "tier_to": change.tier}


def contact_sync(
    contact: Contact | None, account: Account, now: datetime, *, customer_since: date | None = None
) -> tuple[Contact, list[Action]] | None:
    """The contact's copy of the tier (complaint routing reads it) and, on a first purchase, its
    customer-since date and anniversary index key."""
    if contact is None:
        return None
    actions: list[Action] = []
    if customer_since is not None and contact.customer_since is None:
        since = customer_since.isoformat()
        actions.append(Contact.customer_since.set(since))
        day = occasion_day(since, contact.contact_id)
        if day is not None:
            actions.append(Contact.anniversary_day.set(day))
    if account.tier is not None and contact.tier != account.tier:
        actions.append(Contact.tier.set(account.tier))
    if not actions:
        return None
    actions.append(Contact.updated_at.set(now))
    return contact, actions


def _new_lot(account: Account, lot_id: str, lots: dict[str, int]) -> LotMarker | None:
    lot = account.lot(lot_id)
    return store.lot_marker(account.contact_id, lot) if lot is not None and lot_id in lots else None


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def current_rules(now: datetime) -> EarningRules:
    """The earning rules in force on `now`'s day."""
    return rulebook().current(now.date())


# ---- purchases ---------------------------------------------------------------------------------
def plan_purchase(event: Purchase, snapshot: store.Snapshot, now: datetime) -> store.Change:
    """What a purchase writes: points by today's rules and the account's tier (plus the first-purchase
    bonus) as a lot named after the order, the order record refunds read, the tier it reaches, and
    the contact (created for an unknown email). Raises NotFound for an unknown contact named by id,
    ValidationFailed for a currency the rules give no points for."""
    today = now.date()
    rules = current_rules(now)
    contact_id = snapshot.account.contact_id
    if snapshot.contact is None and event.email is None:
        raise NotFound(f"contact {contact_id} does not exist")
    account = copy.deepcopy(snapshot.account)
    evaluate_tier(account, rules, today)  # a new account starts in the base tier
    points, qualifying = rules.purchase_points(event.amount, event.currency, account.tier)
    counts = qualifying >= rules.first_purchase_minimum_points  # `purchases` counts only these
    bonus = rules.first_purchase_bonus if account.purchases == 0 and counts else 0
    lot_id = f"purchase#{event.order_id}"  # also the entry's key
    lots = credit(account, points + bonus, lot_id, today=today, lifetime_months=rules.lot_lifetime_months)
    account.purchases += 1 if counts else 0
    account.lifetime_points += points + bonus
    record_qualifying(account, month_key(today), qualifying, today=today)
    change = evaluate_tier(account, rules, today)
    schedule_review(account, rules, today, reviewed=True)
    since = min(event.occurred_at.date(), today)
    entry = _entry(
        account,
        lot_id,
        "purchase",
        points + bonus,
        rules_version=rules.version,
        now=now,
        lots=lots,
        lot_sources=(account,),
        bonus_points=bonus or None,
        qualifying_points=qualifying,
        order_id=event.order_id,
        event_id=event.event_id,
        amount=str(event.amount),
        currency=event.currency,
        occurred_at=event.occurred_at.isoformat(),
        **_tier_move(change),
    )
    order = OrderRecord(
        contact_id,
        f"order#{event.order_id}",
        order_id=event.order_id,
        amount=str(event.amount),
        currency=event.currency,
        points=points + bonus,
        qualifying_points=qualifying,
        month=month_key(today),
        rule_version=rules.version,
        lot_id=lot_id,
    )
    new_contact = None
    if snapshot.contact is None and event.email is not None:
        new_contact = _first_contact(account, event.email, since, now)
    return store.Change(
        entry=entry,
        account=account,
        order=order,
        new_lot=_new_lot(account, lot_id, lots),
        new_contact=new_contact,
        contact_update=contact_sync(snapshot.contact, account, now, customer_since=since),
    )


def _first_contact(account: Account, email: str, since: date, now: datetime) -> Contact:
    """The contact a purchase from an unknown email creates: a customer since that day, in its tier."""
    return Contact(
        account.contact_id,
        email=normalize_email(email),  # one spelling per person, as SES sends it
        created_at=now,
        updated_at=now,
        customer_since=since.isoformat(),
        anniversary_day=occasion_day(since.isoformat(), account.contact_id),
        tier=account.tier,
    )


def _same_purchase(event: Purchase, entry: LedgerEntry) -> None:
    _same_content(f"order {event.order_id}", entry, event.amount, event.currency)


def purchase(contact_id: str, event: Purchase) -> Applied | None:
    """Earn points for a purchase (and the first-purchase bonus); creates the contact of an unknown
    email. Raises ValidationFailed (currency without points), NotFound (unknown contact_id)."""
    return execute(
        contact_id,
        f"purchase#{event.order_id}",
        partial(plan_purchase, event),
        same=partial(_same_purchase, event),
    )


def _same_content(what: str, entry: LedgerEntry, amount: Decimal, currency: str) -> None:
    """Raise EventConflict unless the recorded entry has this amount and currency (by value)."""
    recorded = f"{entry.amount} {entry.currency}"
    if entry.currency != currency:
        raise EventConflict(f"{what} was recorded in currency {entry.currency}, not {currency}")
    if entry.amount is None or Decimal(entry.amount) != amount:
        raise EventConflict(f"{what} was recorded with amount {recorded}, not {amount} {currency}")


# ---- refunds -----------------------------------------------------------------------------------
def _reversal(order: OrderRecord, amount: Decimal) -> tuple[Decimal, int, int]:
    """What refunding `amount` more of an order takes back, in proportion to the refunded share:
    the order's refunded total after it, the points and the qualifying points to reverse."""
    total = Decimal(order.amount)
    refunded = min(Decimal(order.refunded_amount) + amount, total)
    points = _floor(int(order.points) * refunded / total) - int(order.refunded_points)
    qualifying = _floor(int(order.qualifying_points) * refunded / total) - int(order.refunded_qualifying)
    return refunded, points, qualifying


def plan_refund(event: Refund, snapshot: store.Snapshot, now: datetime) -> store.Change:
    """What a refund writes: the points of the refunded share, with the figures of the rule version
    that earned them, from the order's own lot first, then the oldest lots, and what is already spent
    becomes a debt; the tier is judged again by today's thresholds. Raises RetryableError while the
    purchase is not recorded (`snapshot.order` is None), ValidationFailed for another currency."""
    today = now.date()
    order = snapshot.order
    if order is None:
        raise RetryableError(f"the purchase of order {event.order_id} is not recorded yet")
    if event.currency != order.currency:
        raise ValidationFailed(
            [FieldError("currency", f"order {event.order_id} was paid in {order.currency}")]
        )
    order = copy.deepcopy(order)
    refunded, reverse, reverse_q = _reversal(order, event.amount)
    before = snapshot.account
    account = copy.deepcopy(before)
    lots = debit(account, reverse, first_from=order.lot_id, allow_debt=True)
    account.lifetime_points -= reverse
    record_qualifying(account, order.month, -reverse_q, today=today)
    rules = current_rules(now)  # tiers are judged by today's thresholds
    change = evaluate_tier(account, rules, today)
    schedule_review(account, rules, today, reviewed=True)
    order.refunded_amount = str(refunded)
    order.refunded_points = int(order.refunded_points) + reverse
    order.refunded_qualifying = int(order.refunded_qualifying) + reverse_q
    entry = _entry(
        account,
        f"refund#{event.refund_id}",
        "refund",
        -reverse,
        rules_version=order.rule_version,  # the version that earned them, never today's
        now=now,
        lots=lots,
        lot_sources=(before,),
        qualifying_points=-reverse_q,
        order_id=event.order_id,
        refund_id=event.refund_id,
        event_id=event.event_id,
        amount=str(event.amount),
        currency=event.currency,
        occurred_at=event.occurred_at.isoformat(),
        **_tier_move(change),
    )
    return store.Change(
        entry=entry,
        account=account,
        order=order,
        contact_update=contact_sync(snapshot.contact, account, now),
    )


def _same_refund(event: Refund, entry: LedgerEntry) -> None:
    if entry.order_id != event.order_id:
        raise EventConflict(
            f"refund {event.refund_id} was recorded on order {entry.order_id}, not {event.order_id}"
        )
    _same_content(f"refund {event.refund_id}", entry, event.amount, event.currency)


def refund(contact_id: str, event: Refund) -> Applied | None:
    """Take back points in proportion to the refunded amount (see `plan_refund`). Raises
    RetryableError while the purchase is not recorded yet (events can arrive out of order),
    ValidationFailed for a currency that is not the order's, EventConflict for a replay that differs."""
    return execute(
        contact_id,
        f"refund#{event.refund_id}",
        partial(plan_refund, event),
        order_id=event.order_id,
        same=partial(_same_refund, event),
    )


# ---- adjustments and grants --------------------------------------------------------------------
def plan_adjustment(event: Adjustment, snapshot: store.Snapshot, now: datetime) -> store.Change:
    """What a correction that takes points writes (positive ones are grants): taken like a refund,
    oldest lots first, then a debt. Raises NotFound for an unknown contact."""
    if snapshot.contact is None:
        raise NotFound(f"contact {snapshot.account.contact_id} does not exist")
    rules = current_rules(now)
    before = snapshot.account
    account = copy.deepcopy(before)
    if account.tier is None:
        evaluate_tier(account, rules, now.date())
    lots = debit(account, -event.points, allow_debt=True)
    account.lifetime_points += event.points
    schedule_review(account, rules, now.date(), reviewed=False)
    entry = _entry(
        account,
        f"adjust#{event.event_id}",
        "adjust",
        event.points,
        rules_version=rules.version,
        now=now,
        lots=lots,
        lot_sources=(before,),
        reason=event.reason,
        event_id=event.event_id,
        order_id=event.order_id,
    )
    return store.Change(
        entry=entry, account=account, contact_update=contact_sync(snapshot.contact, account, now)
    )


def adjust(contact_id: str, event: Adjustment) -> Applied | None:
    """A manual correction: positive points become a lot, negative ones are taken like a refund
    (oldest lots first, then a debt). Raises NotFound for an unknown contact."""
    entry_key = f"adjust#{event.event_id}"
    if event.points > 0:
        return _grant(
            contact_id, entry_key, "adjust", event.points, reason=event.reason, event_id=event.event_id
        )
    return execute(contact_id, entry_key, partial(plan_adjustment, event))


@dataclass(frozen=True)
class Grant:
    """Points given once per `entry_key` (a positive adjustment, a bonus, a birthday, goodwill)."""

    entry_key: str
    kind: str
    points: int
    reason: str | None
    event_id: str | None = None


def plan_grant(grant: Grant, snapshot: store.Snapshot, now: datetime) -> store.Change | None:
    """What a grant writes: a lot of its points (repaying any debt first); None for zero points.
    Raises NotFound for an unknown contact."""
    if snapshot.contact is None:
        raise NotFound(f"contact {snapshot.account.contact_id} does not exist")
    if grant.points == 0:
        return None
    rules = current_rules(now)
    account = copy.deepcopy(snapshot.account)
    if account.tier is None:
        evaluate_tier(account, rules, now.date())
    lots = credit(
        account, grant.points, grant.entry_key, today=now.date(), lifetime_months=rules.lot_lifetime_months
    )
    account.lifetime_points += grant.points
    schedule_review(account, rules, now.date(), reviewed=False)
    entry = _entry(
        account,
        grant.entry_key,
        grant.kind,
        grant.points,
        rules_version=rules.version,
        now=now,
        lots=lots,
        lot_sources=(account,),
        reason=grant.reason,
        event_id=grant.event_id,
    )
    return store.Change(
        entry=entry,
        account=account,
        new_lot=_new_lot(account, grant.entry_key, lots),
        contact_update=contact_sync(snapshot.contact, account, now),
    )


def _grant(
    contact_id: str,
    entry_key: str,
    kind: str,
    points: int,
    *,
    reason: str | None,
    event_id: str | None = None,
) -> Applied | None:
    if points < 0:
        raise ValidationFailed([FieldError("points", "must not be negative")])
    grant = Grant(entry_key, kind, points, reason, event_id)
    return execute(contact_id, entry_key, partial(plan_grant, grant))


# ---- grants other areas ask for --------------------------------------------------------------------
def _source(text: str, field: str) -> str:
    text = str(text).strip()
    if not text or len(text) > KEY_LIMIT or any(ord(c) < 0x21 or ord(c) > 0x7E for c in text):
        raise ValidationFailed([FieldError(field, f"must be 1-{KEY_LIMIT} printable ASCII characters")])
    return text


def grant_bonus(contact_id: str, source_id: str, points: int, reason: str) -> int:
    """Grant bonus points once per `source_id` (a campaign, a survey ...); returns the points the
    bonus is worth (the same on every call). Raises NotFound, ValidationFailed."""
    applied = _grant(contact_id, f"bonus#{_source(source_id, 'source_id')}", "bonus", points, reason=reason)
    return applied.points if applied else 0


def grant_birthday_bonus(contact_id: str, year: int) -> int:
    """Grant the birthday bonus of `year` once, by the contact's tier under today's rules; returns the
    points it is worth (the same on every call for that year, 0 if the rules give none).
    Raises NotFound for an unknown contact."""
    points = current_rules(clock.now()).birthday_points(store.load_account(contact_id).tier)
    applied = _grant(contact_id, f"birthday#{int(year)}", "birthday", points, reason=f"birthday {year}")
    return applied.points if applied else 0


def grant_goodwill(contact_id: str, case_id: str, points: int | None = None) -> int:
    """Goodwill points for a complaint case, once per case (the rules' default when `points` is None,
    at most their maximum); returns the points granted. Raises NotFound, ValidationFailed."""
    goodwill = current_rules(clock.now()).goodwill
    wanted = goodwill.default_points if points is None else points
    if not 0 <= wanted <= goodwill.max_points:
        raise ValidationFailed([FieldError("points", f"goodwill is 0 to {goodwill.max_points} points")])
    entry_key = f"goodwill#{_source(case_id, 'case_id')}"
    applied = _grant(contact_id, entry_key, "goodwill", wanted, reason=f"goodwill for case {case_id}")
    return applied.points if applied else 0


# ---- redemption and expiry ---------------------------------------------------------------------
@dataclass(frozen=True)
class Redemption:
    """Points spent at a checkout, once per Idempotency-Key (`key`)."""

    key: str
    points: int
    order_id: str | None = None

    @property
    def entry_key(self) -> str:
        """The ledger entry's key: one redemption per idempotency key."""
        return f"redeem#{self.key}"


def plan_redemption(redemption: Redemption, snapshot: store.Snapshot, now: datetime) -> store.Change:
    """What a redemption writes: points taken from the lots that expire first, on condition that the
    balance covers them. Raises NotFound (no contact and no account), OutstandingDebt,
    InsufficientPoints."""
    points = redemption.points
    if snapshot.contact is None and snapshot.account.version is None:
        raise NotFound(f"contact {snapshot.account.contact_id} does not exist")
    if snapshot.account.debt > 0:
        raise OutstandingDebt(snapshot.account.debt)
    if snapshot.account.available < points:
        raise InsufficientPoints(points, snapshot.account.available)
    before = snapshot.account
    account = copy.deepcopy(before)
    lots = debit(account, points, allow_debt=False)
    entry = _entry(
        account,
        redemption.entry_key,
        "redeem",
        -points,
        rules_version=current_rules(now).version,
        now=now,
        lots=lots,
        lot_sources=(before,),
        order_id=redemption.order_id,
    )
    # Redundant with the version condition, and kept: the balance must cover it, whatever happens.
    covers = LoyaltyBalance.balance >= points
    return store.Change(entry=entry, account=account, balance_condition=covers)


def _same_redemption(redemption: Redemption, entry: LedgerEntry) -> None:
    if int(entry.points) != -redemption.points or entry.order_id != redemption.order_id:
        raise IdempotencyKeyReused(redemption.key, -int(entry.points), entry.order_id)


def redeem(contact_id: str, idempotency_key: str, points: int, *, order_id: str | None = None) -> Applied:
    """Spend points, oldest lots first, once per Idempotency-Key. Raises ValidationFailed (bad
    points or key), NotFound (unknown contact), InsufficientPoints, OutstandingDebt,
    IdempotencyKeyReused (409s)."""
    key = _source(idempotency_key, "Idempotency-Key")
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise ValidationFailed([FieldError("points", "must be a positive whole number")])
    redemption = Redemption(key, points, order_id)
    applied = execute(
        contact_id,
        redemption.entry_key,
        partial(plan_redemption, redemption),
        same=partial(_same_redemption, redemption),
    )
    assert applied is not None  # noqa: S101 - narrows the type; the planner always writes
    return applied


def plan_expiry(lot_id: str, snapshot: store.Snapshot, now: datetime) -> store.Change | None:
    """What expiring a lot writes: what is left of it leaves the balance, and its marker leaves the
    expiry index; None when the lot is spent or expired before (only the marker is left)."""
    lot = snapshot.account.lot(lot_id)
    if lot is None:
        return None
    before = snapshot.account
    account = copy.deepcopy(before)
    expired = expire(account, lot_id)
    rules = current_rules(now)
    schedule_review(account, rules, now.date(), reviewed=False)
    entry = _entry(
        account,
        f"expiry#{lot_id}",
        "expiry",
        -expired,
        rules_version=rules.version,
        now=now,
        lots={lot_id: -expired},
        lot_sources=(before,),
    )
    return store.Change(entry=entry, account=account, spent_lot=_marker(account.contact_id, lot_id))


def _marker(contact_id: str, lot_id: str) -> LotMarker:
    return LotMarker(contact_id, f"lot#{lot_id}")


def expire_lot(contact_id: str, lot_id: str) -> int:
    """Expire what is left of a lot (entry `expiry#<lot>`) and take it out of the expiry index;
    returns the points expired (0 when the lot was spent). Raises RetryableError."""
    applied = execute(contact_id, f"expiry#{lot_id}", partial(plan_expiry, lot_id))
    if applied is None or applied.replay:  # spent, expired before, or a replay: only the marker is left
        store.delete_marker(_marker(contact_id, lot_id))
        return 0
    return -applied.points
