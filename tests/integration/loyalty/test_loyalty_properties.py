"""Property-based: random sequences of purchases, refunds, redemptions, adjustments, expiries and
replays against the real ledger (moto). Whatever the sequence:

- the balance always equals the sum of the ledger (and the lots, less any debt);
- no redemption ever drives the balance below zero;
- replaying any earlier movement changes nothing at all.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_core import loyalty
from crm_core.errors import ValidationFailed
from crm_core.loyalty import ledger, store
from crm_core.loyalty.errors import InsufficientPoints, OutstandingDebt
from crm_core.models import Contact, contact_id_for
from crm_core.models.loyalty import LedgerEntry
from tests.loyalty_data import adjustment, purchase, refund

REFUSALS = (InsufficientPoints, OutstandingDebt, ValidationFailed)
START = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
_people = itertools.count()

cents = st.integers(min_value=1, max_value=90_000).map(lambda c: f"{Decimal(c) / 100:.2f}")
operations = st.lists(
    st.one_of(
        st.tuples(st.just("purchase"), cents),
        st.tuples(st.just("refund"), st.integers(0, 5), cents),
        st.tuples(st.just("redeem"), st.integers(1, 600)),
        st.tuples(st.just("adjust"), st.integers(-300, 300).filter(bool)),
        st.tuples(st.just("time"), st.integers(1, 200)),  # days pass, then due lots expire
        st.tuples(st.just("replay"), st.integers(0, 50)),
    ),
    min_size=1,
    max_size=9,
)


@dataclass
class Run:
    email: str
    contact_id: str
    clock: Any
    done: list[Any] = field(default_factory=list)  # movements applied so far, to replay
    orders: list[str] = field(default_factory=list)
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def apply(self, op: tuple[Any, ...]) -> None:
        kind, n = op[0], next(self.counter)
        who = self.email.split("@")[0]  # event, order and refund ids are unique per shop, not per contact
        if kind == "purchase":
            event = purchase(f"{who}-O{n}", op[1], email=self.email)
            self.orders.append(event.order_id)
            self.movement(lambda: loyalty.apply_order_event(event))
        elif kind == "refund" and self.orders:
            order = self.orders[op[1] % len(self.orders)]
            event = refund(order, f"{who}-R{n}", op[2], email=self.email)
            self.movement(lambda: loyalty.apply_order_event(event))
        elif kind == "redeem":
            self.movement(lambda: loyalty.redeem(self.contact_id, f"K{n}", op[1]))
        elif kind == "adjust":
            event = adjustment(f"{who}-E{n}", op[1], email=self.email)
            self.movement(lambda: loyalty.apply_order_event(event))
        elif kind == "time":
            self.clock.advance(timedelta(days=op[1]))
            today = self.clock.now().date()
            for lot in store.load_account(self.contact_id).lots:
                if lot.expires_on <= today:
                    self.movement(lambda lot_id=lot.id: ledger.expire_lot(self.contact_id, lot_id))
        elif kind == "replay" and self.done:
            before = state(self.contact_id)
            self.done[op[1] % len(self.done)]()
            assert state(self.contact_id) == before, "a replay changed the ledger"

    def movement(self, call: Any) -> None:
        """Apply a movement and keep it to replay later. A refusal must change nothing (the invariants
        check it) and is not kept: it wrote nothing, so asking again is a new attempt, not a replay
        (a redemption refused for a short balance may succeed with the same key once points came in)."""
        try:
            call()
        except REFUSALS:
            return
        self.done.append(call)


def state(contact_id: str) -> tuple[Any, ...]:
    account = store.load_account(contact_id)
    entries = sorted((e.entry_key, int(e.points)) for e in LedgerEntry.history.query(contact_id))
    return account.balance, account.version, tuple(entries)


def check_invariants(contact_id: str) -> None:
    account = store.load_account(contact_id)
    entries = list(LedgerEntry.history.query(contact_id))
    assert account.balance == sum(int(e.points) for e in entries)
    assert all(lot.points > 0 for lot in account.lots)
    assert account.balance == sum(lot.points for lot in account.lots) - account.debt
    assert not (account.debt and account.lots), "points sit in lots while a debt is owed"
    assert all(int(e.balance_after) >= 0 for e in entries if e.kind == "redeem")
    earned = sum(int(e.points) for e in entries if e.kind not in ("redeem", "expiry"))
    assert account.lifetime_points == earned


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_any_sequence_keeps_the_ledger_true(stack, frozen_clock, ops: list[tuple[Any, ...]]) -> None:
    email = f"p{next(_people)}@example.com"  # one fresh contact per example: the stack is shared
    contact_id = contact_id_for(email)
    frozen_clock.set(START)
    Contact(contact_id, email=email, created_at=START).save()
    run = Run(email, contact_id, frozen_clock)

    for op in ops:
        run.apply(op)
        if store.load_account(contact_id).version is not None:
            check_invariants(contact_id)
