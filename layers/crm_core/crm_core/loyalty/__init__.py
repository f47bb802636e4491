"""Loyalty points: an append-only, idempotent ledger with earning rules, tiers, expiry and redemption.

What other areas call:

- `grant_bonus(contact_id, source_id, points, reason) -> int`: bonus points once per source;
- `grant_birthday_bonus(contact_id, year) -> int`: the birthday bonus, once per year (occasions);
- `grant_goodwill(contact_id, case_id, points=None) -> int`: goodwill points once per case (complaints).

Entry points of the functions: `apply_order_event` (orders queue), `summary`, `history`, `redeem`
(HTTP API), `run_daily` (daily schedule).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm_core.loyalty.daily import run_daily
    from crm_core.loyalty.ledger import grant_birthday_bonus, grant_bonus, grant_goodwill, redeem
    from crm_core.loyalty.orders import apply_order_event
    from crm_core.loyalty.views import history, summary

# Each name is imported from its module on first use: the HTTP function never loads the message
# engine, the queue function never loads the daily run (cold start, see `make bench`).
_HOMES = {
    "apply_order_event": "orders",
    "grant_birthday_bonus": "ledger",
    "grant_bonus": "ledger",
    "grant_goodwill": "ledger",
    "history": "views",
    "redeem": "ledger",
    "run_daily": "daily",
    "summary": "views",
}

__all__ = [
    "apply_order_event",
    "grant_birthday_bonus",
    "grant_bonus",
    "grant_goodwill",
    "history",
    "redeem",
    "run_daily",
    "summary",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
