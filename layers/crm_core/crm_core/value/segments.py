"""RFM segments by the common scheme: named from the recency and frequency scores (1-5).

Monetary is kept as a score (and drives the most-valuable flag) but, as in the usual R x F grid,
does not name the segment. The grid is data: the first rule whose ranges hold names the segment.
"""

from __future__ import annotations

from typing import NamedTuple


class SegmentRule(NamedTuple):
    """A segment of the recency x frequency grid: its name and score ranges."""

    name: str
    recency: tuple[int, int]  # inclusive score range
    frequency: tuple[int, int]


# The usual R x F grid (champions top right, lost bottom left); read top to bottom.
SEGMENTS: tuple[SegmentRule, ...] = (
    SegmentRule("champions", (5, 5), (4, 5)),
    SegmentRule("loyal", (3, 5), (4, 5)),
    SegmentRule("cant_lose", (1, 2), (5, 5)),
    SegmentRule("at_risk", (1, 2), (3, 4)),
    SegmentRule("potential_loyalist", (4, 5), (2, 3)),
    SegmentRule("new", (5, 5), (1, 1)),
    SegmentRule("promising", (4, 4), (1, 1)),
    SegmentRule("need_attention", (3, 3), (3, 3)),
    SegmentRule("about_to_sleep", (3, 3), (1, 2)),
    SegmentRule("hibernating", (1, 2), (2, 2)),
    SegmentRule("hibernating", (2, 2), (1, 1)),
    SegmentRule("lost", (1, 1), (1, 1)),
)


def segment(recency: int, frequency: int) -> str:
    """The segment of an R and F score pair (every pair of 1-5 has one)."""
    for rule in SEGMENTS:
        if (
            rule.recency[0] <= recency <= rule.recency[1]
            and rule.frequency[0] <= frequency <= rule.frequency[1]
        ):
            return rule.name
    raise ValueError(f"scores out of range: R={recency} F={frequency}")
