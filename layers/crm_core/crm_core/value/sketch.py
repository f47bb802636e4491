"""Quintiles of the whole customer base without reading it: fixed-bucket histograms in one item.

Each customer is counted once in three histograms (a map of bucket -> count):
- `r`: the week of their last purchase (days since 1970-01-01 // 7);
- `f`: their purchases in the last 12 months (exact up to 20, then log buckets);
- `m`: their net amount over 12 months, in log buckets of ratio BASE (5 %); zero and less in "z".
A contact's figures move it from one bucket to another with `ADD` on both counts, in the same
transaction as the contact's own write (crm_core.value.store): the histogram is exact about
bucket counts, and mergeable (two sketches add bucket by bucket).

A score is the midrank of the value's bucket: p = (below + same / 2) / total, score = 1 + floor(5p),
so the error comes only from customers sharing the boundary bucket (measured by `accuracy`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

BASE = 1.05  # monetary bucket ratio: a bucket spans 5 % of value
EXACT_FREQUENCY = 20
ZERO = "z"


def recency_bucket(last_order: datetime | None) -> str | None:
    """The recency bucket of the sketch: the week (counted from the epoch) of the last order."""
    if last_order is None:
        return None
    return str(int(last_order.timestamp() // 86400) // 7)


def frequency_bucket(frequency: int) -> str:
    """The frequency bucket: exact for few orders, logarithmic beyond."""
    if frequency <= EXACT_FREQUENCY:
        return str(frequency)
    return str(EXACT_FREQUENCY + math.ceil(math.log(frequency / EXACT_FREQUENCY, BASE)))


def monetary_bucket(amount: Decimal | float) -> str:
    """The logarithmic bucket of a 12-month amount (ZERO for nothing)."""
    value = float(amount)
    if value <= 0:
        return ZERO
    return str(math.floor(math.log(value, BASE)))


def _order(bucket: str) -> float:
    return -math.inf if bucket == ZERO else float(bucket)


@dataclass(frozen=True, slots=True)
class Cells:
    """The buckets one customer occupies (stored on the contact so a change can leave them)."""

    r: str
    f: str
    m: str


def midrank(histogram: Mapping[str, int | Decimal], bucket: str) -> float:
    """Share of customers below `bucket`, counting half of those in it; 0.5 for an empty histogram."""
    total = below = same = 0
    key = _order(bucket)
    for name, raw in histogram.items():
        count = int(raw)
        total += count
        if _order(name) < key:
            below += count
        elif name == bucket:
            same += count
    if total <= 0:
        return 0.5
    return (below + same / 2) / total


def quintile(histogram: Mapping[str, int | Decimal], bucket: str) -> int:
    """The 1-5 score of a bucket (5 = highest values)."""
    return min(5, 1 + math.floor(5 * midrank(histogram, bucket)))


def in_top_share(histogram: Mapping[str, int | Decimal], bucket: str, share: float) -> bool:
    """True when the bucket's customers sit in the top `share` of the base (midrank above 1 - share)."""
    return bucket != ZERO and 1 - midrank(histogram, bucket) <= share


def build(values: Iterable[float]) -> dict[str, int]:
    """The monetary histogram of plain values (tests, benches, merging a backfill)."""
    histogram: dict[str, int] = {}
    for value in values:
        bucket = monetary_bucket(value)
        histogram[bucket] = histogram.get(bucket, 0) + 1
    return histogram


@dataclass(frozen=True, slots=True)
class Accuracy:
    """How far the sketch's scores are from exact ranks on synthetic data."""

    customers: int
    buckets: int
    misscored_share: float  # customers whose sketch quintile differs from their exact quintile
    max_score_error: int
    top_share_error: float  # |flagged share - wanted share| for the most-valuable flag


def accuracy(customers: int, *, seed: int = 7, top_share: float = 0.05) -> Accuracy:
    """Compare sketch scores with exact ranks on synthetic 12-month values (log-normal, median 80,
    a long tail: what small shops see). The bench and a unit test print and bound it."""
    rng = random.Random(seed)  # noqa: S311 - seeded synthetic data, reproducible on purpose
    values = [round(rng.lognormvariate(math.log(80), 1.1), 2) for _ in range(customers)]
    histogram = build(values)
    ordered = sorted(values)
    position: dict[float, tuple[int, int]] = {}
    for index, value in enumerate(ordered):
        first, _ = position.get(value, (index, index))
        position[value] = (first, index)
    misscored = worst = flagged = 0
    scores = {b: quintile(histogram, b) for b in histogram}
    tops = {b: in_top_share(histogram, b, top_share) for b in histogram}
    for value in values:
        first, last = position[value]
        exact = min(5, 1 + math.floor(5 * ((first + last) / 2 + 0.5) / customers))
        bucket = monetary_bucket(value)
        error = abs(scores[bucket] - exact)
        misscored += error > 0
        worst = max(worst, error)
        flagged += tops[bucket]
    return Accuracy(
        customers=customers,
        buckets=len(histogram),
        misscored_share=misscored / customers,
        max_score_error=worst,
        top_share_error=abs(flagged / customers - top_share),
    )
