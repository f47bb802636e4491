"""The date logic of occasions: which days are "today" somewhere, 29 February, and local days by zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.errors import ConfigurationError
from crm_core.models.contacts import OCCASION_SHARDS, contact_id_for, occasion_day
from crm_core.occasions.dates import (
    LeapDayPolicy,
    YearlyDate,
    dates_in_play,
    is_due,
    month_days_to_read,
    parse_yearly,
    years_since,
)
from crm_core.occasions.run import Rules
from crm_core.occasions.store import partition_keys
from crm_core.settings import Settings, reset_settings

FEB28, MAR1 = LeapDayPolicy.FEB28, LeapDayPolicy.MAR1
ZONES = [ZoneInfo(name) for name in sorted(available_timezones() - {"Factory", "localtime"})]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "send_hour", "expected"),
    [
        # UTC-12 is still on the 9th until noon UTC; at UTC+14 it is 14:00 on the 10th.
        ("2027-03-10T00:00", 9, ["2027-03-09", "2027-03-10"]),
        # Noon UTC: the 10th everywhere except UTC+14, where the 11th is two hours old (before 09:00).
        ("2027-03-10T12:00", 9, ["2027-03-10"]),
        ("2027-03-10T18:59", 9, ["2027-03-10"]),
        # 19:00 UTC is 09:00 of the 11th at UTC+14: the 11th comes into play.
        ("2027-03-10T19:00", 9, ["2027-03-10", "2027-03-11"]),
        # With a send hour of midnight, three dates can be "today" at once.
        ("2027-03-10T10:30", 0, ["2027-03-09", "2027-03-10", "2027-03-11"]),
        ("2027-12-31T19:00", 9, ["2027-12-31", "2028-01-01"]),
    ],
)
def test_dates_in_play_are_the_days_past_the_send_hour_somewhere(
    instant: str, send_hour: int, expected: list[str]
) -> None:
    assert dates_in_play(_utc(instant), send_hour) == [date.fromisoformat(d) for d in expected]


def test_dates_in_play_refuse_a_naive_instant() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        dates_in_play(datetime(2027, 3, 10, 12, 0), 9)


@settings(max_examples=60, deadline=None)
@given(
    instant=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31)),
    send_hour=st.integers(min_value=0, max_value=23),
)
def test_every_zone_whose_send_hour_has_passed_is_covered(instant: datetime, send_hour: int) -> None:
    """Whatever the instant, a contact anywhere whose local send hour has passed is on a date in play."""
    at = instant.replace(tzinfo=UTC)
    in_play = set(dates_in_play(at, send_hour))
    for zone in ZONES:
        local = at.astimezone(zone)
        if local.hour >= send_hour:
            assert local.date() in in_play, (zone, local)


@settings(max_examples=150, deadline=None)
@given(
    instant=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31)),
    send_hour=st.integers(min_value=0, max_value=23),
)
def test_no_date_is_read_unless_some_offset_is_past_its_send_hour(instant: datetime, send_hour: int) -> None:
    """Cost: a date in play is one where some offset between UTC-12 and UTC+14 is past the send hour."""
    at = instant.replace(tzinfo=UTC, second=0, microsecond=0)
    offsets = [timedelta(minutes=m) for m in range(-12 * 60, 14 * 60 + 1, 15)]
    for day in dates_in_play(at, send_hour):
        locals_ = [(at + o).replace(tzinfo=None) for o in offsets]
        assert any(t.date() == day and t.hour >= send_hour for t in locals_), day
    assert 1 <= len(dates_in_play(at, send_hour)) <= 3


@pytest.mark.parametrize(
    ("day", "policy", "expected"),
    [
        ("2027-02-28", FEB28, ["02-28", "02-29"]),  # non-leap: 29 Feb birthdays are kept on the 28th
        ("2027-02-28", MAR1, ["02-28"]),
        ("2027-03-01", MAR1, ["03-01", "02-29"]),  # ... or on 1 March
        ("2027-03-01", FEB28, ["03-01"]),
        ("2028-02-28", FEB28, ["02-28"]),  # leap year: 29 Feb exists and is read on its own day
        ("2028-02-29", FEB28, ["02-29"]),
        ("2028-03-01", MAR1, ["03-01"]),
    ],
)
def test_leap_day_partition_is_read_on_the_day_the_policy_keeps_it(
    day: str, policy: LeapDayPolicy, expected: list[str]
) -> None:
    assert month_days_to_read([date.fromisoformat(day)], policy) == expected


def test_month_days_are_not_read_twice() -> None:
    assert month_days_to_read([date(2027, 2, 28), date(2027, 2, 28)], FEB28) == ["02-28", "02-29"]


@pytest.mark.parametrize(
    ("year", "policy", "expected"),
    [
        (2027, FEB28, date(2027, 2, 28)),
        (2027, MAR1, date(2027, 3, 1)),
        (2028, FEB28, date(2028, 2, 29)),
        (2028, MAR1, date(2028, 2, 29)),
        (2100, FEB28, date(2100, 2, 28)),  # 2100 is not a leap year
    ],
)
def test_29_february_is_observed_once_every_year(year: int, policy: LeapDayPolicy, expected: date) -> None:
    assert YearlyDate(2, 29, 1992).observed_in(year, policy) == expected


def test_29_february_falls_on_exactly_one_day_of_every_year() -> None:
    leapling = YearlyDate(2, 29)
    for policy in LeapDayPolicy:
        for year in range(2025, 2034):
            days = [date(year, 1, 1) + timedelta(days=n) for n in range(366)]
            hits = [d for d in days if d.year == year and leapling.observed_in(year, policy) == d]
            assert len(hits) == 1, (policy, year)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990-05-17", YearlyDate(5, 17, 1990)),
        ("--05-17", YearlyDate(5, 17, None)),
        ("--02-29", YearlyDate(2, 29, None)),
        ("1992-02-29", YearlyDate(2, 29, 1992)),
        ("2027-03-01T10:15:00Z", YearlyDate(3, 1, 2027)),  # a timestamp's date
        (None, None),
        ("", None),
    ],
)
def test_occasion_dates_parse(text: str | None, expected: YearlyDate | None) -> None:
    assert parse_yearly(text) == expected


@pytest.mark.parametrize("text", ["1990-02-29", "--13-01", "--02-30", "17/05/1990", "1990-5-17", "soon"])
def test_impossible_or_malformed_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_yearly(text)


@pytest.mark.parametrize(
    ("instant", "zone", "occasion", "due"),
    [
        # Rome springs forward on 26 March 2028: 09:00 local is 07:00 UTC that day.
        ("2028-03-26T06:59", "Europe/Rome", "--03-26", False),
        ("2028-03-26T07:00", "Europe/Rome", "--03-26", True),
        # New York falls back on 5 November 2028: 09:00 EST is 14:00 UTC.
        ("2028-11-05T13:59", "America/New_York", "--11-05", False),
        ("2028-11-05T14:00", "America/New_York", "--11-05", True),
        # Kiritimati (UTC+14) greets its 1 January while it is still 31 December in UTC.
        ("2027-12-31T19:00", "Pacific/Kiritimati", "--01-01", True),
        # Pago Pago (UTC-11) still has its 31 December when UTC is on 1 January.
        ("2029-01-01T10:59", "Pacific/Pago_Pago", "--12-31", True),
        ("2029-01-01T11:00", "Pacific/Pago_Pago", "--12-31", False),  # midnight: the day is over
        ("2027-02-28T08:00", "Asia/Jakarta", "--02-29", True),  # 15:00 WIB, non-leap year, feb28
        ("2027-03-01T08:00", "Asia/Jakarta", "--02-29", False),
    ],
)
def test_an_occasion_is_due_on_its_local_day_after_the_send_hour(
    instant: str, zone: str, occasion: str, due: bool
) -> None:
    local = _utc(instant).astimezone(ZoneInfo(zone))
    yearly = parse_yearly(occasion)
    assert yearly is not None
    assert is_due(local, yearly, FEB28, 9) is due


def test_anniversary_years_count_from_the_first_purchase() -> None:
    assert years_since(YearlyDate(6, 1, 2020), date(2028, 6, 1)) == 8
    assert years_since(YearlyDate(2, 29, 2024), date(2027, 2, 28)) == 3
    assert years_since(YearlyDate(6, 1, None), date(2028, 6, 1)) == 0


def test_index_partitions_are_the_shards_the_writers_use() -> None:
    contact_id = contact_id_for("ana@example.com")
    assert occasion_day("1990-03-05", contact_id) in partition_keys("03-05")
    assert len(partition_keys("03-05")) == OCCASION_SHARDS


@pytest.fixture
def occasion_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, default in Settings.variables().items():  # every required one, whichever areas add them
        if default is None:
            monkeypatch.setenv(name, "t")
    monkeypatch.setenv("SENDER_ADDRESS", "crm@example.com")
    monkeypatch.setenv("SIGNING_KEY_SECRET", "k")
    monkeypatch.setenv("QUIET_HOURS", "21:00-08:00")
    reset_settings()
    yield monkeypatch
    reset_settings()


@pytest.mark.parametrize(
    ("send_hour", "policy", "error"),
    [
        ("9", "feb28", None),
        ("7", "MAR1", None),  # quiet until 08:00: greetings wait for the end of quiet hours, same day
        ("24", "feb28", "0-23"),
        ("22", "feb28", "inside QUIET_HOURS"),  # quiet from 21:00 to the end of the day: never sent
        ("9", "mar-1", "feb28 or mar1"),
    ],
)
def test_rules_are_validated_when_a_run_starts(
    occasion_env: pytest.MonkeyPatch, send_hour: str, policy: str, error: str | None
) -> None:
    occasion_env.setenv("OCCASION_SEND_HOUR", send_hour)
    occasion_env.setenv("LEAP_DAY_POLICY", policy)
    reset_settings()
    if error is None:
        rules = Rules.from_settings()
        assert rules.send_hour == int(send_hour)
        assert rules.policy is LeapDayPolicy(policy.lower())
    else:
        with pytest.raises(ConfigurationError, match=error):
            Rules.from_settings()
