"""A contact's points account in memory, and the pure arithmetic of every movement on it.

Nothing here touches AWS: the service reads the account, plans a change with these functions and
writes it in one transaction. The invariants the property tests check:

- `balance` is the sum of the ledger entries; it is negative only while the contact owes points
  (a refund of points already spent), and then `debt == -balance` and no lot holds points;
- otherwise `balance == sum(lot.points)`: points live in lots, each with an expiry day;
- spending takes the lots that expire first; earning repays a debt before it fills a lot.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from crm_core.loyalty.rules import EarningRules


@dataclass
class Lot:
    """Points earned together (one purchase, one bonus), spent oldest first, expiring together."""

    id: str
    points: int  # still unspent
    earned_on: date
    expires_on: date


@dataclass(frozen=True)
class Notice:
    """A tier change the contact has not been told about yet."""

    tier: str
    previous: str
    on: date
    upgrade: bool

    @property
    def occurrence(self) -> str:
        """Names the message once and for all: the new tier and the day it was reached."""
        return f"{self.tier}#{self.on.isoformat()}"


@dataclass
class Account:
    """The balance item of one contact."""

    contact_id: str
    balance: int = 0
    lifetime_points: int = 0  # everything earned, net of refunds and corrections
    lots: list[Lot] = field(default_factory=list)
    earned: dict[str, int] = field(default_factory=dict)  # "YYYY-MM" -> qualifying points that month
    tier: str | None = None
    tier_since: date | None = None
    purchases: int = 0
    notice: Notice | None = None
    review_on: date | None = None  # when the daily job must look at this account again
    version: int | None = None  # optimistic lock: every write is conditional on it

    @property
    def debt(self) -> int:
        """The points owed after refunds took more than was left (0 when the balance is positive)."""
        return max(0, -self.balance)

    @property
    def available(self) -> int:
        """The points that can be redeemed now (0 while there is debt)."""
        return max(0, self.balance)

    def lot(self, lot_id: str) -> Lot | None:
        """The lot with id `lot_id`, None when the account holds no such lot."""
        return next((lot for lot in self.lots if lot.id == lot_id), None)


# ---- dates -------------------------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def month_key(day: date) -> str:
    """The YYYY-MM key of the month `day` falls in, as the earned-points map stores it."""
    return f"{day.year:04d}-{day.month:02d}"


def window_months(today: date) -> set[str]:
    """The rolling 12 months tiers are measured over: this month and the eleven before it."""
    return {month_key(add_months(today.replace(day=1), -back)) for back in range(12)}


# ---- movements ---------------------------------------------------------------------------------
def credit(
    account: Account, points: int, lot_id: str, *, today: date, lifetime_months: int
) -> dict[str, int]:
    """Add earned points: they repay any debt first, the rest becomes a lot. Returns lot changes."""
    if points < 0:
        raise ValueError("credit takes a non-negative number of points")
    repaid = min(points, account.debt)
    rest = points - repaid
    account.balance += points
    if rest == 0:
        return {}
    account.lots.append(Lot(lot_id, rest, today, add_months(today, lifetime_months)))
    account.lots.sort(key=lambda lot: (lot.expires_on, lot.earned_on))
    return {lot_id: rest}


def debit(
    account: Account, points: int, *, first_from: str | None = None, allow_debt: bool
) -> dict[str, int]:
    """Take points from the lots that expire first (from `first_from` before any other).

    With `allow_debt` (refunds, corrections) what the lots cannot cover becomes a debt; without it
    (redemptions) the caller must have checked `available` first. Returns lot changes (negative).
    """
    if points < 0:
        raise ValueError("debit takes a non-negative number of points")
    if not allow_debt and points > account.available:
        raise ValueError("debit would overspend")
    order = sorted(account.lots, key=lambda lot: (lot.id != first_from, lot.expires_on, lot.earned_on))
    changes: dict[str, int] = {}
    left = points
    for lot in order:
        if left == 0:
            break
        take = min(lot.points, left)
        lot.points -= take
        left -= take
        changes[lot.id] = -take
    account.lots = [lot for lot in account.lots if lot.points > 0]
    account.balance -= points
    return changes


def expire(account: Account, lot_id: str) -> int:
    """Remove a lot; returns the points it still held (0 if it was spent or already gone)."""
    lot = account.lot(lot_id)
    if lot is None:
        return 0
    account.lots.remove(lot)
    account.balance -= lot.points
    return lot.points


# ---- tiers -------------------------------------------------------------------------------------
def record_qualifying(account: Account, month: str, points: int, *, today: date) -> None:
    """Add (or with a negative number, remove) qualifying points in a month; older months are dropped."""
    window = window_months(today)
    if month in window:
        account.earned[month] = max(0, account.earned.get(month, 0) + points)
    account.earned = {m: p for m, p in account.earned.items() if m in window and p > 0}


def qualifying_points(account: Account, today: date) -> int:
    """The points earned in the rolling 12 months that decide the tier."""
    window = window_months(today)
    return sum(points for month, points in account.earned.items() if month in window)


def anniversary(day: date) -> date:
    """One year later (29 Feb -> 28 Feb)."""
    return add_months(day, 12)


def evaluate_tier(account: Account, rules: EarningRules, today: date) -> Notice | None:
    """Move the tier: up at once, down only a year or more after the last change. Returns the
    change (also left on the account as its pending notice), or None."""
    current = account.tier or rules.base_tier
    deserved = rules.tier_for(qualifying_points(account, today))
    if account.tier is None:
        account.tier, account.tier_since = current, today
    going_up = rules.rank(deserved) > rules.rank(current)
    may_go_down = account.tier_since is None or today >= anniversary(account.tier_since)
    if not going_up and not (rules.rank(deserved) < rules.rank(current) and may_go_down):
        return None
    account.tier, account.tier_since = deserved, today
    account.notice = Notice(tier=deserved, previous=current, on=today, upgrade=going_up)
    return account.notice


def schedule_review(account: Account, rules: EarningRules, today: date, *, reviewed: bool) -> None:
    """Set when the daily job must look at the account: the notice's day while a notice is unsent,
    else the day a downgrade becomes possible (then monthly, as old months leave the window), else
    never. A movement that did not evaluate the tier (`reviewed` False) leaves a due review due."""
    if (
        not reviewed
        and account.notice is None
        and account.review_on is not None
        and account.review_on <= today
    ):
        return
    if account.notice is not None:
        account.review_on = account.notice.on
    elif rules.rank(account.tier) == 0 or account.tier_since is None:
        account.review_on = None
    elif anniversary(account.tier_since) > today:
        account.review_on = anniversary(account.tier_since)
    else:
        account.review_on = add_months(today.replace(day=1), 1)
