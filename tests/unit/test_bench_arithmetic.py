"""`make bench`'s arithmetic: DynamoDB's sizes and rounding, index writes, targets, the bill's volumes."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from infra.bench.bill import HOURS, Business, metric_hours
from infra.bench.operations import OPERATIONS, Measured, Scenario
from infra.bench.rows import Row
from infra.bench.wire import TableShape, Tally, Wire, item_size, value_size


def test_item_size_counts_attribute_names_and_values_as_dynamodb_does() -> None:
    item = {"contact_id": {"S": "ct_1"}, "n": {"N": "123.45"}, "ok": {"BOOL": True}}
    # names 10 + 1 + 2; "ct_1" 4 bytes; 12345 -> 5 significant digits -> 3 + 1; BOOL 1
    assert item_size(item) == 13 + 4 + 4 + 1


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "Zoë"}, 4),  # UTF-8 bytes, not characters
        ({"N": "-0.0100"}, 2),  # leading and trailing zeros are not significant
        ({"B": b"\x00\x01\x02"}, 3),
        ({"NULL": True}, 1),
        ({"SS": ["a", "bc"]}, 3),
        ({"L": [{"S": "a"}, {"N": "1"}]}, 3 + (1 + 1) + (1 + 2)),
        ({"M": {"k": {"S": "v"}}}, 3 + 1 + 1 + 1),
    ],
)
def test_value_sizes(value: dict[str, object], size: int) -> None:
    assert value_size(value) == size


def _wire() -> Wire:
    wire = Wire.__new__(Wire)
    wire.shapes = {"T": TableShape(("pk",), {"by_day": (("day",), "ALL"), "keys": (("owner",), "KEYS_ONLY")})}
    return wire


def test_an_item_entering_an_index_is_one_write_and_a_changed_index_key_two() -> None:
    wire = _wire()
    old = {"pk": {"S": "a"}, "day": {"S": "2027-01-01"}}
    moved = {"pk": {"S": "a"}, "day": {"S": "2027-01-02"}}
    assert wire._index_writes("T", None, old) == 1  # put into by_day; not in keys (no owner)
    assert wire._index_writes("T", old, moved) == 2  # delete the old index entry, put the new one
    assert wire._index_writes("T", old, old) == 0  # nothing projected changed
    assert wire._index_writes("T", old, None) == 1  # the item leaves the index


def test_a_large_item_costs_a_write_unit_per_started_kilobyte_in_each_index() -> None:
    wire = _wire()
    big = {"pk": {"S": "a"}, "day": {"S": "d"}, "body": {"S": "x" * 2100}}
    assert math.ceil(item_size(big) / 1024) == 3
    assert wire._index_writes("T", None, big) == 3


@pytest.mark.parametrize(
    ("row", "passed"),
    [
        (Row("x", 150, 100, "ms", "<= 1.5"), True),  # the ratio, not the value, meets the target
        (Row("x", 151, 100, "ms", "<= 1.5"), False),
        (Row("x", 3, None, "", "<= 5"), True),  # no baseline: the value itself
        (Row("x", None, 100, "ms", "<= 1.5"), None),  # nothing measured
        (Row("x", 1, 1), None),  # no target
    ],
)
def test_rows_check_their_ratio_against_the_target(row: Row, passed: bool | None) -> None:
    assert row.passed is passed
    assert row.cells()[5] == {True: "pass", False: "FAIL", None: "-"}[passed]


def test_the_reference_business_and_ten_times_it() -> None:
    reference, tenfold = Business(), Business().scaled(10)
    assert (tenfold.contacts, tenfold.emails, tenfold.orders) == (100_000, 200_000, 20_000)
    volumes, bigger = reference.volumes(), tenfold.volumes()
    assert volumes["first purchase (new customer)"] + volumes["repeat purchase"] == 2_000
    assert bigger["first purchase (new customer)"] + bigger["repeat purchase"] == 20_000
    # every outbound email is one operation: follow-ups, greetings and case acknowledgements
    sent = (
        volumes["follow-up step sent"] + volumes["occasion greeting"] + volumes["inbound email to a new case"]
    )
    assert sent == pytest.approx(reference.emails)


def test_metrics_are_billed_for_the_hours_they_can_receive_data_in() -> None:
    def measured(operation: str, metric: str) -> Measured:
        tally = Tally(metrics=Counter({("Crm", metric, (("environment", "dev"),)): 1}))
        return Measured(next(o for o in OPERATIONS if o.name == operation), tally)

    scenario = Scenario(
        measured=[
            measured("follow-up run, nothing due", "Heartbeat"),  # every 5 minutes: every hour
            measured("daily expiry, one lot", "LoyaltyExpiredPoints"),  # 2,000 lots, all in the daily run
            measured("inbound email to a new case", "CasesOpened"),  # 300 at any hour
            measured("threaded reply", "CasesOpened"),  # 200 more, same metric
        ]
    )
    hours = {name: h for (_, name, _), h in metric_hours(scenario, Business()).items()}

    assert hours["Heartbeat"] == pytest.approx(HOURS)
    assert hours["LoyaltyExpiredPoints"] == pytest.approx(30, rel=1e-6)  # not 2,000 hours: 30 runs
    assert hours["CasesOpened"] == pytest.approx(HOURS * (1 - math.exp(-500 / HOURS)))
