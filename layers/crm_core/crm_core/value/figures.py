"""Customer value of one contact from its own state: monthly buckets, no scan, no other contact.

The state kept on the contact item (attribute `value`, a map) is what the figures need and no more:

    {"months": {"2026-11": {"n": 2, "m": "99.80"}},   # orders and net amount per calendar month
     "first_order": "2026-03-01T10:00:00+00:00", "last_order": "...",
     "orders": 7, "net": "412.30"}                     # lifetime counts (the usual interval, the AOV)

A purchase adds one order and its amount to the month it happened in; a refund subtracts its amount
from the month the refund happened in (its `occurred_at`), never an order. Months older
than the 12-month window are dropped when the state is written, so the map holds at most 13 keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

WINDOW_MONTHS = 12
CENTS = Decimal("0.01")
# Gamma-Poisson prior on the yearly purchase rate (docs/customer-value.md): one order a year, weighed
# as one year of observation. It keeps a one-day-old customer from being extrapolated to 365 orders.
PRIOR_ORDERS, PRIOR_YEARS = Decimal(1), Decimal(1)


def month_key(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def window_start(now: datetime, months: int = WINDOW_MONTHS) -> str:
    """The oldest month key inside the window of `months` calendar months that ends in `now`'s month."""
    index = now.year * 12 + now.month - 1 - (months - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True, slots=True)
class Figures:
    """What the contact is worth; every amount in the shop's currency, rounded to cents."""

    last_order: str | None  # recency: ISO instant of the latest purchase
    days_since_last_order: int | None
    frequency_12m: int  # purchases in the last 12 calendar months (this one included)
    monetary_12m: Decimal  # their net amount, refunds subtracted
    average_order_value: Decimal
    predicted_12m: Decimal
    orders: int  # lifetime purchases
    usual_interval_days: int | None  # mean days between purchases, when there are two or more

    def as_item(self) -> dict[str, Any]:
        """The figures as the contact item stores them (amounts as text)."""
        return {
            "last_order": self.last_order,
            "days_since_last_order": self.days_since_last_order,
            "frequency_12m": self.frequency_12m,
            "monetary_12m": str(self.monetary_12m),
            "average_order_value": str(self.average_order_value),
            "predicted_12m": str(self.predicted_12m),
            "orders": self.orders,
            "usual_interval_days": self.usual_interval_days,
        }


def empty_state() -> dict[str, Any]:
    """The value state of a contact that has never bought."""
    return {"months": {}, "first_order": None, "last_order": None, "orders": 0, "net": "0"}


def apply_purchase(state: dict[str, Any], at: datetime, amount: Decimal) -> dict[str, Any]:
    """A copy of `state` with one purchase of `amount` at `at` added (events may come in any order)."""
    new = _copy(state)
    bucket = new["months"].setdefault(month_key(at), {"n": 0, "m": "0"})
    bucket["n"] = int(bucket["n"]) + 1
    bucket["m"] = str(Decimal(bucket["m"]) + amount)
    stamp = at.isoformat()
    if new["first_order"] is None or _instant(new["first_order"]) > at:
        new["first_order"] = stamp
    if new["last_order"] is None or _instant(new["last_order"]) < at:
        new["last_order"] = stamp
    new["orders"] = int(new["orders"]) + 1
    new["net"] = str(Decimal(new["net"]) + amount)
    return new


def apply_refund(state: dict[str, Any], at: datetime, amount: Decimal) -> dict[str, Any]:
    """A copy of `state` with `amount` refunded in the month of `at` (no order is taken away)."""
    new = _copy(state)
    bucket = new["months"].setdefault(month_key(at), {"n": 0, "m": "0"})
    bucket["m"] = str(Decimal(bucket["m"]) - amount)
    new["net"] = str(Decimal(new["net"]) - amount)
    return new


def prune(state: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A copy without the months that left the window ending at `now`."""
    new = _copy(state)
    oldest = window_start(now)
    new["months"] = {k: v for k, v in new["months"].items() if k >= oldest}
    return new


def compute(state: dict[str, Any], now: datetime, *, silence_limit_days: int = 90) -> Figures:
    """The figures of `state` at `now`. The prediction (docs/customer-value.md):

    rate = (F12 + PRIOR_ORDERS) / (years observed in the window + PRIOR_YEARS)   Gamma-Poisson mean
    alive = 1 while the silence is within `silence_limit_days`, then limit / silence
    predicted = rate * alive * average order value
    """
    oldest, current = window_start(now), month_key(now)
    months = {k: v for k, v in state.get("months", {}).items() if oldest <= k <= current}
    frequency = sum(int(v["n"]) for v in months.values())
    monetary = sum((Decimal(v["m"]) for v in months.values()), Decimal(0))
    orders, net = int(state.get("orders") or 0), Decimal(state.get("net") or "0")
    aov = _average_order_value(frequency, monetary, orders, net)
    last, first = state.get("last_order"), state.get("first_order")
    since_last = max(0, (now - _instant(last)).days) if last else None
    interval = usual_interval_days(state)
    predicted = Decimal(0)
    if first:
        rate = _yearly_rate(frequency, max(0, (now - _instant(first)).days))
        predicted = rate * _alive(since_last, silence_limit_days) * aov
    return Figures(
        last_order=last,
        days_since_last_order=since_last,
        frequency_12m=frequency,
        monetary_12m=_cents(monetary),
        average_order_value=_cents(aov),
        predicted_12m=_cents(predicted),
        orders=orders,
        usual_interval_days=interval,
    )


def _average_order_value(frequency: int, monetary: Decimal, orders: int, net: Decimal) -> Decimal:
    """The window's average order, else the lifetime one (a customer silent for a year still has one)."""
    if frequency:
        return max(monetary, Decimal(0)) / frequency
    return max(net, Decimal(0)) / orders if orders else Decimal(0)


def _yearly_rate(frequency: int, days_since_first: int) -> Decimal:
    """Gamma-Poisson mean of the yearly purchase rate, over at most the last year observed."""
    observed_days = min(365, days_since_first)
    return (frequency + PRIOR_ORDERS) / (Decimal(observed_days) / 365 + PRIOR_YEARS)


def _alive(since_last: int | None, silence_limit_days: int) -> Decimal:
    """1 while the silence is within the limit, then limit / silence."""
    if since_last is not None and since_last > silence_limit_days:
        return Decimal(silence_limit_days) / Decimal(since_last)
    return Decimal(1)


def usual_interval_days(state: dict[str, Any]) -> int | None:
    """Mean days between the contact's purchases (first to last), None before a second purchase."""
    first, last, orders = state.get("first_order"), state.get("last_order"), int(state.get("orders") or 0)
    if not first or not last or orders < 2:  # an interval needs two purchases
        return None
    return max(1, round((_instant(last) - _instant(first)).days / (orders - 1)))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENTS, rounding=ROUND_HALF_EVEN)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    base = empty_state() | {k: v for k, v in state.items() if k != "months"}
    base["months"] = {k: {"n": int(v["n"]), "m": str(v["m"])} for k, v in state.get("months", {}).items()}
    return base


__all__ = ["Figures", "apply_purchase", "apply_refund", "compute", "empty_state", "prune"]
