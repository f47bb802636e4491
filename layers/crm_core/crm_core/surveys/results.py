"""Survey results from the counters kept as invitations go out and answers come in: never a scan.

Counts are by day of sending (a cohort): the answers to the surveys sent from `from` to `to`,
whenever they were given, so the response rate is answered / sent of the same surveys. One Query
on the survey's partition for the grouping reads one item per day and group.

- CSAT: the share of answers that are 4 or 5, in percent.
- NPS: promoters (9-10) minus detractors (0-6), in percent of the answers, from -100 to 100.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from crm_core import clock
from crm_core.errors import FieldError, ValidationFailed
from crm_core.models.surveys import DIMENSIONS, SurveyStats, stats_key
from crm_core.surveys import definitions

GROUPINGS = tuple(d for d in DIMENSIONS if d != "all")
DEFAULT_DAYS = 30
MAX_DAYS = 366


def _day(text: str | None, name: str, errors: list[FieldError]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(FieldError(name, "must be a date like 2027-03-01"))
        return None


def score_of(scale: str, distribution: dict[int, int]) -> float | None:
    """CSAT (% of 4-5) or NPS (% promoters - % detractors), one decimal; None without answers."""
    answers = sum(distribution.values())
    if not answers:
        return None
    if scale == "csat":
        return round(100 * sum(n for s, n in distribution.items() if s >= 4) / answers, 1)
    promoters = sum(n for s, n in distribution.items() if s >= 9)
    detractors = sum(n for s, n in distribution.items() if s <= 6)
    return round(100 * (promoters - detractors) / answers, 1)


@dataclass
class _Totals:
    sent: int = 0
    answered: int = 0
    distribution: Counter[int] = field(default_factory=Counter)

    def add(self, sent: int, answered: int, distribution: Mapping[int, int]) -> None:
        self.sent += sent
        self.answered += answered
        self.distribution.update(distribution)

    def summary(self, scale: str, scores: range) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "answered": self.answered,
            "response_rate": round(100 * self.answered / self.sent, 1) if self.sent else None,
            scale: score_of(scale, dict(self.distribution)),
            "distribution": {str(s): self.distribution.get(s, 0) for s in scores},
        }


def _period(start: str | None, end: str | None, errors: list[FieldError]) -> tuple[date, date]:
    """The days asked (by default the last DEFAULT_DAYS up to today); a bad or too long period is
    an error on `from`, reported only when the rest of the request is valid."""
    first, last = _day(start, "from", errors), _day(end, "to", errors)
    last = last or clock.now().date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if not errors and first > last:
        errors.append(FieldError("from", "must not be after to"))
    elif not errors and (last - first).days >= MAX_DAYS:
        errors.append(FieldError("from", f"the period must be at most {MAX_DAYS} days"))
    return first, last


def _totals_by_group(survey: str, dimension: str, first: date, last: date) -> dict[str, _Totals]:
    """The survey's counters of the days first..last, summed per group of `dimension`."""
    totals: dict[str, _Totals] = {}
    query = SurveyStats.query(
        stats_key(survey, dimension),
        SurveyStats.day_group.between(first.isoformat(), f"{last.isoformat()}#\uffff"),
    )
    for item in query:
        totals.setdefault(item.day_group.partition("#")[2], _Totals()).add(
            int(item.sent or 0), int(item.answered or 0), item.score_counts()
        )
    return totals


def results(
    survey: str | None, start: str | None = None, end: str | None = None, group_by: str | None = None
) -> dict[str, Any]:
    """Sent, answered, response rate, CSAT or NPS and the distribution of a survey over days of
    sending (`start`..`end`, default the last 30 days), overall and per group when `group_by` is
    locale, team or tier. Raises ValidationFailed naming each bad parameter."""
    catalog, errors = definitions.load(), []
    found = catalog.get(survey or "")
    if found is None:
        known = ", ".join(sorted(catalog.surveys))
        errors.append(FieldError("survey", f"must be one of {known}"))
    if group_by and group_by not in GROUPINGS:
        errors.append(FieldError("group_by", f"must be one of {', '.join(GROUPINGS)}"))
    first, last = _period(start, end, errors)
    if errors or found is None:
        raise ValidationFailed(errors)
    totals = _totals_by_group(found.name, group_by or "all", first, last)
    overall = _Totals()
    for each in totals.values():
        overall.add(each.sent, each.answered, each.distribution)
    answer: dict[str, Any] = {
        "survey": found.name,
        "scale": found.scale,
        "from": first.isoformat(),
        "to": last.isoformat(),
        **overall.summary(found.scale, found.scores),
    }
    if group_by:
        answer["group_by"] = group_by
        answer["groups"] = {
            group: each.summary(found.scale, found.scores) for group, each in sorted(totals.items())
        }
    return answer
