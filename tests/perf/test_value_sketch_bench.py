"""Bench: how far the quantile sketch's RFM scores are from exact ranks at 1k, 100k and 1M customers.

Synthetic 12-month values (log-normal, median 80, long tail). A customer is "misscored" when the
sketch's quintile differs from the one its exact rank gives; the top-share error is how far the
flagged share lands from the 5 % asked for. The sketch is one item of ~200 buckets at any size.
"""

from __future__ import annotations

from crm_core.value.sketch import accuracy
from tests.perf.harness import record


def test_sketch_accuracy_at_1k_100k_and_1m_customers() -> None:
    for customers in (1_000, 100_000, 1_000_000):
        found = accuracy(customers)
        label = f"{customers:,} customers"
        record(
            "value sketch",
            f"{label}: misscored share",
            found.misscored_share * 100,
            unit="%",
            target="<= 3.0",
        )
        record(
            "value sketch", f"{label}: max score error", found.max_score_error, unit="score", target="<= 1"
        )
        record(
            "value sketch",
            f"{label}: top-5% share error",
            found.top_share_error * 100,
            unit="pt",
            target="<= 0.5",
        )
        record("value sketch", f"{label}: buckets in the item", found.buckets, target="<= 400")
        assert found.max_score_error <= 1
        assert found.misscored_share <= 0.03
