"""Loyalty points: an append-only, idempotent ledger with earning rules, tiers, expiry and redemption.

What other areas call:

- `grant_bonus(contact_id, source_id, points, reason) -> int`: bonus points once per source;
- `grant_birthday_bonus(contact_id, year) -> int`: the birthday bonus, once per year (occasions);
- `grant_goodwill(contact_id, case_id, points=None) -> int`: goodwill points once per case (complaints).

Entry points of the functions: `apply_order_event` (orders queue), `summary`, `history`, `redeem`
(HTTP API), `run_daily` (daily schedule).
"""

from __future__ import annotations

from crm_core.loyalty.daily import run_daily
from crm_core.loyalty.ledger import grant_birthday_bonus, grant_bonus, grant_goodwill, redeem
from crm_core.loyalty.orders import apply_order_event
from crm_core.loyalty.views import history, summary

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
