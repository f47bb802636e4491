"""Bench: an occasions run reads what today's occasions need, whatever the size of the contact table.

The same number of birthdays and anniversaries fall "today" at 10,000 and at 100,000 contacts;
every DynamoDB request of a run (the run's own and the message engine's) is counted with the
items it returned. The ratio 100k / 10k must stay near 1, and no request may be a Scan.

moto answers a Query by walking every item in Python, so its wall time grows with the table;
DynamoDB reads only the partition asked for. Items read and requests made are the cost that counts.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from botocore.client import BaseClient

from crm_core import aws
from crm_core.clock import FrozenClock
from crm_core.models.contacts import occasion_day
from crm_core.occasions import RunReport, send_occasions
from crm_core.settings import get_settings, reset_settings
from tests.occasions_support import add_contact, production_send_rate
from tests.perf.harness import record

SMALL, LARGE = 10_000, 100_000
BIRTHDAYS_TODAY, ANNIVERSARIES_TODAY = 40, 20
MEASURED = ("06-15", "06-16")  # one day measured at 10k contacts, the next at 100k
KEEP_CLEAR = {"06-14", "06-15", "06-16", "06-17"}  # the filler has no occasion near the measured days


class DynamoCounter:
    """Counts every DynamoDB request of every client (boto3's and pynamodb's) and the items it returned."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.items: Counter[str] = Counter()

    @contextmanager
    def counting(self) -> Iterator[DynamoCounter]:
        real = BaseClient._make_api_call

        def wrapper(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            response = real(client, operation, params)
            if client.meta.service_model.service_name == "dynamodb":
                self.requests[operation] += 1
                self.items[operation] += _items_in(operation, response)
            return response

        with mock.patch.object(BaseClient, "_make_api_call", wrapper):
            yield self

    @property
    def items_read(self) -> int:
        return sum(
            count for op, count in self.items.items() if op in {"Query", "BatchGetItem", "GetItem", "Scan"}
        )


def _items_in(operation: str, response: dict[str, Any]) -> int:
    if operation in {"Query", "Scan"}:
        return len(response.get("Items", []))
    if operation == "BatchGetItem":
        return sum(len(items) for items in response.get("Responses", {}).values())
    if operation == "GetItem":
        return 1 if "Item" in response else 0
    return 0


def _seed_filler(first: int, count: int) -> None:
    """Contacts with occasions on any day but the measured ones, written 25 at a time (BatchWriteItem)."""
    rng = random.Random(first)
    days = [date(2028, 1, 1) + timedelta(days=n) for n in range(366)]
    days = [d for d in days if d.strftime("%m-%d") not in KEEP_CLEAR]
    table, client = get_settings().contacts_table, aws.dynamodb()
    batch: list[dict[str, Any]] = []
    for n in range(first, first + count):
        contact_id = f"ct_filler{n:07d}"
        item: dict[str, Any] = {
            "contact_id": {"S": contact_id},
            "email": {"S": f"filler{n}@example.com"},
            "time_zone": {"S": rng.choice(["Europe/Rome", "America/New_York", "Asia/Jakarta"])},
        }
        if rng.random() < 0.8:
            birthday = f"{rng.randint(1950, 2005)}-{rng.choice(days).strftime('%m-%d')}"
            birthday = birthday if not birthday.endswith("02-29") else birthday[:5] + "02-28"
            item["birthday"] = {"S": birthday}
            item["birthday_day"] = {"S": occasion_day(birthday, contact_id)}
        if rng.random() < 0.5:
            since = f"{rng.randint(2015, 2026)}-{rng.choice(days).strftime('%m-%d')}".replace(
                "02-29", "02-28"
            )
            item["customer_since"] = {"S": since}
            item["anniversary_day"] = {"S": occasion_day(since, contact_id)}
        batch.append({"PutRequest": {"Item": item}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={table: batch})


def _seed_today(month_day: str) -> None:
    for n in range(BIRTHDAYS_TODAY):
        add_contact(f"born-{month_day}-{n}@example.com", birthday=f"--{month_day}", time_zone="Europe/Rome")
    for n in range(ANNIVERSARIES_TODAY):
        add_contact(
            f"since-{month_day}-{n}@example.com", customer_since=f"2019-{month_day}", time_zone="Europe/Rome"
        )


def _measure(run: Callable[[], RunReport]) -> tuple[RunReport, DynamoCounter, float]:
    counter = DynamoCounter()
    with counter.counting():
        started = time.perf_counter()
        report = run()
        elapsed = time.perf_counter() - started
    assert counter.requests["Scan"] == 0, "a run must never scan"
    return report, counter, elapsed


def test_items_read_per_run_follow_todays_occasions_not_the_table_size(
    stack, frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    production_send_rate(monkeypatch, rate=1000.0)  # reads are measured here, not pacing
    # The birthday bonus is loyalty's write (one TransactWriteItems per greeting, ~3 reads): moto
    # deep-copies every table a transaction touches, seconds each at 100k contacts. Measured without.
    monkeypatch.setenv("BIRTHDAY_BONUS_ENABLED", "false")
    reset_settings()
    for month_day in MEASURED:
        _seed_today(month_day)
    seeded = 2 * (BIRTHDAYS_TODAY + ANNIVERSARIES_TODAY)
    started = time.perf_counter()
    _seed_filler(0, SMALL - seeded)
    frozen_clock.set(datetime(2027, 6, 15, 12, 5, tzinfo=UTC))  # 14:05 in Rome; 15 June alone in play
    small, small_reads, small_time = _measure(send_occasions)
    small_replay, small_replay_reads, small_replay_time = _measure(send_occasions)
    small_times = [small_time, small_replay_time, _measure(send_occasions)[2]]

    _seed_filler(SMALL - seeded, LARGE - SMALL)
    seeding = time.perf_counter() - started
    frozen_clock.set(datetime(2027, 6, 16, 12, 5, tzinfo=UTC))
    large, large_reads, large_time = _measure(send_occasions)
    large_replay, large_replay_reads, large_replay_time = _measure(send_occasions)
    large_times = [large_time, large_replay_time, _measure(send_occasions)[2]]

    today = BIRTHDAYS_TODAY + ANNIVERSARIES_TODAY
    assert small.sent == large.sent == today
    assert small_replay.sent == large_replay.sent == 0
    section = "occasions"
    record(
        section,
        "items read by a greeting run, 100k vs 10k contacts",
        large_reads.items_read,
        baseline=small_reads.items_read,
        unit="items",
        target="<= 1.1",
    )
    record(
        section,
        "DynamoDB requests of a greeting run, 100k vs 10k",
        sum(large_reads.requests.values()),
        baseline=sum(small_reads.requests.values()),
        unit="requests",
        target="<= 1.1",
    )
    record(
        section,
        "items read by a replayed run, 100k vs 10k contacts",
        large_replay_reads.items_read,
        baseline=small_replay_reads.items_read,
        unit="items",
        target="<= 1.1",
    )
    record(
        section,
        "items read per occasion today (100k contacts)",
        large_reads.items_read / today,
        unit="items",
        target="<= 5",
    )
    record(
        section,
        "run wall time in moto, median of a run and 2 replays (Query walks the table)",
        statistics.median(large_times) * 1000,
        baseline=statistics.median(small_times) * 1000,
        unit="ms",
    )
    record(section, "seeding 100k contacts into moto (BatchWriteItem)", seeding, unit="s")
    assert large_reads.items_read == small_reads.items_read
    assert large_replay_reads.items_read == small_replay_reads.items_read
    assert large.reads.total == small.reads.total
    assert large_replay.reads.total == small_replay.reads.total
