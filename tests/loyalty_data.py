"""Builders of order events and rule files the loyalty tests share."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from crm_core.loyalty import rules
from crm_core.loyalty.events import Adjustment, Purchase, Refund
from crm_core.models import contact_id_for
from crm_core.models.loyalty import LedgerEntry, LoyaltyBalance

LAYER_RULES = json.loads((rules.RULES_DIR / "2026-01.json").read_text())
ANA = "ana@example.com"
WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def purchase(order_id: str, amount: str, email: str = ANA, **extra: Any) -> Purchase:
    return Purchase(
        type="purchase",
        event_id=f"evt-{order_id}",
        order_id=order_id,
        email=email,
        amount=Decimal(amount),
        currency=extra.pop("currency", "EUR"),
        occurred_at=extra.pop("occurred_at", WHEN),
        **extra,
    )


def refund(
    order_id: str, refund_id: str, amount: str, email: str = "ana@example.com", **extra: Any
) -> Refund:
    return Refund(
        type="refund",
        event_id=f"evt-{refund_id}",
        order_id=order_id,
        refund_id=refund_id,
        email=email,
        amount=Decimal(amount),
        currency=extra.pop("currency", "EUR"),
        occurred_at=WHEN,
    )


def adjustment(event_id: str, points: int, email: str = "ana@example.com") -> Adjustment:
    return Adjustment(
        type="adjustment",
        event_id=event_id,
        email=email,
        points=points,
        reason="correction",
        occurred_at=WHEN,
    )


def add_version(folder: Path, version: str, effective_from: str, **changes: Any) -> None:
    body = {**LAYER_RULES, "version": version, "effective_from": effective_from, **changes}
    (folder / f"{version}.json").write_text(json.dumps(body))
    rules.rulebook.cache_clear()


def balance_of(email: str) -> int:
    """The balance item's balance (0 when the contact has no account)."""
    try:
        return int(LoyaltyBalance.get(contact_id_for(email), "balance", consistent_read=True).balance)
    except LoyaltyBalance.DoesNotExist:
        return 0


def ledger_sum(email: str) -> int:
    """The sum of every ledger entry of a contact."""
    return sum(int(e.points) for e in LedgerEntry.history.query(contact_id_for(email)))
