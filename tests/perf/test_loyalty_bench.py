"""Loyalty: what the once-only guarantees cost, against moto in-process, beside a naive ledger.

Each movement reads the account, the contact and its own entry, then writes entry + balance
(+ order, lot marker, contact) in one TransactWriteItems. The baseline, measured in the same run,
is the naive ledger this design replaces: look for the entry, put it, ADD to a counter (three
plain calls, no atomicity: a crash between them or two concurrent runs lose or double points).
moto's absolute figures mean little (its transactions deep-copy each table they touch, which
real DynamoDB does not); the ratios say how much the guarantees multiply the work.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable

import boto3

from crm_core import loyalty
from crm_core.loyalty import ledger
from crm_core.models import Contact, contact_id_for
from tests.loyalty_data import purchase
from tests.perf.harness import record

ROUNDS = 60  # two bench runs agree within 10% on every ratio of this file


def _interleaved_ms(*actions: Callable[[int], object]) -> list[float]:
    """Medians of actions timed turn by turn, so each sees the table at the same size (moto's
    transactions deep-copy the table: their cost grows with it)."""
    times: list[list[float]] = [[] for _ in actions]
    for n in range(ROUNDS):
        for action, spent in zip(actions, times, strict=True):
            started = time.perf_counter()
            action(n)
            spent.append(time.perf_counter() - started)
    return [statistics.median(spent) * 1000 for spent in times]


def test_loyalty_movements_against_a_plain_write(stack, frozen_clock) -> None:
    table = stack.template.physical_name("LoyaltyTable")
    ddb = boto3.client("dynamodb")
    email = "bench@example.com"
    contact_id = contact_id_for(email)
    Contact(contact_id, email=email, created_at=frozen_clock.now()).save()
    people = itertools.count()

    def naive_earn(n: int) -> None:
        key = {"contact_id": {"S": f"ct_naive{n % 5}"}, "entry_key": {"S": f"purchase#P-{n}"}}
        if "Item" in ddb.get_item(TableName=table, Key=key, ConsistentRead=True):
            return
        ddb.put_item(TableName=table, Item={**key, "points": {"N": "49"}, "kind": {"S": "purchase"}})
        ddb.update_item(
            TableName=table,
            Key={"contact_id": key["contact_id"], "entry_key": {"S": "balance"}},
            UpdateExpression="ADD balance :p",
            ExpressionAttributeValues={":p": {"N": "49"}},
        )

    def bare_transaction(n: int) -> None:
        key = {"contact_id": {"S": f"ct_bare{n % 5}"}}
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**key, "entry_key": {"S": f"purchase#P-{n}"}}}},
                {"Put": {"TableName": table, "Item": {**key, "entry_key": {"S": "balance"}}}},
            ]
        )

    # The ledger movement alone (what the guarantees cost); the whole order event, which also
    # enrolls the post-purchase follow-up, is a row of its own below.
    def earn_one(n: int) -> None:
        ledger.purchase(contact_id, purchase(f"B-{n}", "49.90", email=email))

    def replay_one(n: int) -> None:
        ledger.purchase(contact_id, purchase(f"B-{n}", "49.90", email=email))

    def order_event_one(n: int) -> None:
        loyalty.apply_order_event(purchase(f"E-{n}", "49.90", email=email))

    def redeem_one(n: int) -> None:
        loyalty.redeem(contact_id, f"checkout-{n}", 10)

    def first_one(n: int) -> None:
        loyalty.apply_order_event(purchase(f"N-{n}", "20.00", email=f"new{next(people)}@example.com"))

    def history_page(n: int) -> None:
        loyalty.history(contact_id, limit=20)

    # Every figure in the same rounds as its baseline: a page timed apart moved 13% between runs.
    baseline, transaction, earn, replay, redeem, first, order_event, page = _interleaved_ms(
        naive_earn,
        bare_transaction,
        earn_one,
        replay_one,
        redeem_one,
        first_one,
        order_event_one,
        history_page,
    )

    record("loyalty", "naive earn: get + put + ADD (baseline)", baseline, unit="ms")
    record("loyalty", "bare 2-item TransactWriteItems (baseline)", transaction, unit="ms")
    record("loyalty", "purchase earned vs naive earn", earn, baseline, "ms")
    record("loyalty", "purchase earned vs bare transaction", earn, transaction, "ms", "<= 3.0")
    record("loyalty", "redemption vs bare transaction", redeem, transaction, "ms", "<= 3.0")
    record("loyalty", "purchase replayed (1 batch read) vs naive", replay, baseline, "ms", "<= 2.0")
    record("loyalty", "first purchase, contact created too", first, transaction, "ms")
    record("loyalty", "order event: earn + post-purchase enrollment", order_event, transaction, "ms")
    record("loyalty", "history page of 20 entries", page, baseline, "ms")
