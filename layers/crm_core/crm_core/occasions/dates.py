"""The date logic of occasions: which days are "today" somewhere, and whose occasion falls on a local day.

Pure functions of their arguments (no clock, no settings), so they are tested exhaustively.

At any instant the local dates on Earth span 26 hours (UTC-12 to UTC+14). A date is *in play* when
somewhere it is that date and the send hour has passed: only the contacts of those month-days are
read. 29 February occasions are kept in non-leap years on 28 February (`feb28`) or 1 March (`mar1`),
in the contact's own zone, so they are greeted exactly once every year.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from crm_core.errors import ConfigurationError

# The extreme offsets of the IANA database: Etc/GMT+12 and Pacific/Kiritimati.
EARLIEST_OFFSET = timedelta(hours=-12)
LATEST_OFFSET = timedelta(hours=14)
LEAP_DAY = "02-29"

_DATE = re.compile(r"^(?:(?P<year>\d{4})|-)-(?P<month>\d{2})-(?P<day>\d{2})$")


class LeapDayPolicy(StrEnum):
    """Where a 29 February occasion falls in other years."""

    FEB28 = "feb28"
    MAR1 = "mar1"

    @classmethod
    def parse(cls, text: str) -> LeapDayPolicy:
        """The policy named by LEAP_DAY_POLICY; raises ConfigurationError for anything else."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ConfigurationError(f"LEAP_DAY_POLICY must be feb28 or mar1, got {text!r}") from None


@dataclass(frozen=True, slots=True)
class YearlyDate:
    """A birthday or customer-since date: month and day, and the year when known."""

    month: int
    day: int
    year: int | None = None

    def observed_in(self, year: int, policy: LeapDayPolicy) -> date:
        """The calendar date the occasion is kept on in `year` (29 Feb moves in non-leap years)."""
        if (self.month, self.day) == (2, 29) and not calendar.isleap(year):
            return date(year, 2, 28) if policy is LeapDayPolicy.FEB28 else date(year, 3, 1)
        return date(year, self.month, self.day)


def parse_yearly(text: str | None) -> YearlyDate | None:
    """Parse "YYYY-MM-DD" or "--MM-DD" (a timestamp's date part is accepted); None when absent.

    Raises ValueError for a malformed or impossible date ("1990-02-30", "--13-01").
    """
    if not text:
        return None
    match = _DATE.match(text.strip()[:10])
    if match is None:
        raise ValueError(f"not a date: {text!r}")
    year = int(match["year"]) if match["year"] else None
    month, day = int(match["month"]), int(match["day"])
    date(year if year is not None else 2000, month, day)  # 2000 is a leap year: --02-29 is valid
    return YearlyDate(month=month, day=day, year=year)


def dates_in_play(instant: datetime, send_hour: int) -> list[date]:
    """Calendar dates on which, somewhere on Earth, it is now at or past `send_hour` (oldest first).

    A date D is in play from `send_hour` on D at UTC+14 until D ends at UTC-12: one or two dates.
    Raises ValueError for a naive datetime.
    """
    if instant.tzinfo is None:
        raise ValueError("dates_in_play needs a timezone-aware instant")
    utc = instant.astimezone(UTC).replace(tzinfo=None)
    earliest, latest = utc + EARLIEST_OFFSET, utc + LATEST_OFFSET
    found: list[date] = []
    day = earliest.date()
    while day <= latest.date():
        starts = datetime.combine(day, time(send_hour))
        ends = datetime.combine(day + timedelta(days=1), time())
        if starts <= latest and ends > earliest:
            found.append(day)
        day += timedelta(days=1)
    return found


def month_days_to_read(days: list[date], policy: LeapDayPolicy) -> list[str]:
    """The "MM-DD" index partitions holding the occasions that may fall on `days`.

    29 February occasions are also read on the day the policy keeps them on in non-leap years.
    """
    wanted: list[str] = []
    for day in days:
        wanted.append(f"{day.month:02d}-{day.day:02d}")
        if not calendar.isleap(day.year) and YearlyDate(2, 29).observed_in(day.year, policy) == day:
            wanted.append(LEAP_DAY)
    return list(dict.fromkeys(wanted))


def is_due(local: datetime, occasion: YearlyDate, policy: LeapDayPolicy, send_hour: int) -> bool:
    """True when `local` (the contact's wall clock) is on the occasion's day and at or past the send hour."""
    return occasion.observed_in(local.year, policy) == local.date() and local.time() >= time(send_hour)


def years_since(since: YearlyDate, on: date) -> int:
    """Whole years from `since` to the anniversary kept on `on` (0 when the year is unknown)."""
    return on.year - since.year if since.year is not None else 0
