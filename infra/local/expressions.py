"""Schedule expressions as EventBridge reads them: `rate(5 minutes)`, `cron(0 8 * * ? *)`, `at(...)`.

Only what the local stack needs: when does a schedule next fire after a given instant. AWS cron has
six fields (minutes hours day-of-month month day-of-week year), day-of-week 1-7 is SUN-SAT, one of
the two day fields is `?`; `L` (last day of month, or `5L` last Thursday) and `#` (`2#1` first
Monday) are understood, `W` is not.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_MONTHS = {
    name: i
    for i, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_SEARCH_YEARS = 5


class ExpressionError(ValueError):
    """A schedule expression the local stack cannot read."""


@dataclass(frozen=True)
class Rate:
    seconds: int

    def next_after(self, after: datetime, anchor: datetime) -> datetime:
        """The first firing strictly after `after`; rates count from `anchor` (when the schedule began)."""
        elapsed = (after - anchor).total_seconds()
        periods = max(0, int(elapsed // self.seconds) + 1)
        return anchor + timedelta(seconds=periods * self.seconds)


@dataclass(frozen=True)
class At:
    when: datetime

    def next_after(self, after: datetime, anchor: datetime) -> datetime | None:
        return self.when if self.when > after else None


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: str  # kept as text: L and ? depend on the month
    months: frozenset[int]
    days_of_week: str
    years: frozenset[int] | None
    zone: ZoneInfo | None = None

    def next_after(self, after: datetime, anchor: datetime) -> datetime | None:
        """The first firing strictly after `after` within the next few years, or None."""
        local = after.astimezone(self.zone or UTC).replace(second=0, microsecond=0, tzinfo=None)
        start = local + timedelta(minutes=1)
        day = start.date()
        for _ in range(366 * _SEARCH_YEARS):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = datetime(day.year, day.month, day.day, hour, minute)
                        if candidate >= start:
                            return candidate.replace(tzinfo=self.zone or UTC).astimezone(UTC)
            day += timedelta(days=1)
        return None

    def _day_matches(self, day: date) -> bool:
        if self.years is not None and day.year not in self.years:
            return False
        if day.month not in self.months:
            return False
        return _dom_matches(self.days_of_month, day) and _dow_matches(self.days_of_week, day)


Expression = Rate | Cron | At


def parse(text: str, time_zone: str | None = None) -> Expression:
    """Read `rate(...)`, `cron(...)` or `at(...)`; raises ExpressionError for anything else."""
    match = re.fullmatch(r"\s*(rate|cron|at)\((.*)\)\s*", text)
    if not match:
        raise ExpressionError(f"not a schedule expression: {text!r}")
    kind, body = match.groups()
    zone = ZoneInfo(time_zone) if time_zone else None
    if kind == "rate":
        value, _, unit = body.strip().partition(" ")
        if not value.isdigit() or unit.strip() not in _RATE_UNITS or int(value) < 1:
            raise ExpressionError(f"bad rate expression: {text!r}")
        return Rate(int(value) * _RATE_UNITS[unit.strip()])
    if kind == "at":
        moment = datetime.fromisoformat(body.strip()).replace(tzinfo=zone or UTC)
        return At(moment.astimezone(UTC))
    fields = body.split()
    if len(fields) != 6:
        raise ExpressionError(
            f"cron needs six fields (min hour day-of-month month day-of-week year): {text!r}"
        )
    minute, hour, dom, month, dow, year = fields
    if "W" in dom.upper():
        raise ExpressionError(f"the local stack does not understand W in {text!r}")
    return Cron(
        minutes=_values(minute, 0, 59),
        hours=_values(hour, 0, 23),
        days_of_month=dom.upper(),
        months=_values(month, 1, 12, _MONTHS),
        days_of_week=dow.upper(),
        years=None if year in {"*", "?"} else _values(year, 1970, 2199),
        zone=zone,
    )


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    found: set[int] = set()
    for part in field.upper().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in {"*", "?"}:
            first, last = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            first, last = _number(a, names), _number(b, names)
        else:
            first = _number(base, names)
            last = high if step_text else first
        if not (low <= first <= high and low <= last <= high):
            raise ExpressionError(f"{field!r} is outside {low}-{high}")
        found.update(range(first, last + 1, step))
    return frozenset(found)


def _number(text: str, names: dict[str, int] | None) -> int:
    if names and text in names:
        return names[text]
    if text in _DAYS:
        return _DAYS[text]
    if not text.isdigit():
        raise ExpressionError(f"cannot read {text!r} in a cron expression")
    return int(text)


def _dom_matches(field: str, day: date) -> bool:
    if field in {"*", "?"}:
        return True
    last = calendar.monthrange(day.year, day.month)[1]
    if field == "L":
        return day.day == last
    return day.day in _values(field, 1, 31)


def _dow_matches(field: str, day: date) -> bool:
    if field in {"*", "?"}:
        return True
    aws_dow = (day.isoweekday() % 7) + 1  # SUN=1 ... SAT=7
    if "#" in field:
        weekday, nth = field.split("#", 1)
        return aws_dow == _number(weekday, None) and (day.day - 1) // 7 + 1 == int(nth)
    if field.endswith("L"):
        last = calendar.monthrange(day.year, day.month)[1]
        return aws_dow == _number(field[:-1] or "7", None) and day.day > last - 7
    return aws_dow in _values(field, 1, 7, _DAYS)
