"""Quiet hours in the contact's own zone, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm_core.messaging.quiet_hours import is_quiet, next_allowed
from crm_core.settings import Settings, reset_settings


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, default in Settings.variables().items():  # every required one, whichever areas add them
        if default is None:
            monkeypatch.setenv(name, "t")
    monkeypatch.setenv("SENDER_ADDRESS", "crm@example.com")
    monkeypatch.setenv("SIGNING_KEY_SECRET", "k")
    monkeypatch.setenv("QUIET_HOURS", "21:00-08:00")
    monkeypatch.setenv("DEFAULT_TIME_ZONE", "Europe/Rome")
    reset_settings()


@pytest.mark.parametrize(
    ("instant", "zone", "quiet"),
    [
        ("2026-11-23T06:59:00Z", "Europe/Rome", True),  # 07:59 in Rome
        ("2026-11-23T07:00:00Z", "Europe/Rome", False),  # 08:00 in Rome
        ("2026-11-23T20:00:00Z", "Europe/Rome", True),  # 21:00 in Rome
        ("2026-11-23T13:00:00Z", "America/New_York", False),  # 08:00 in New York
        ("2026-11-23T00:30:00Z", "Asia/Jakarta", True),  # 07:30 WIB
        ("2026-11-23T19:30:00Z", "Pacific/Auckland", False),  # 08:30 NZDT
        ("2026-11-23T06:59:00Z", None, True),  # no zone: the business default (Rome)
        ("2026-11-23T06:59:00Z", "Not/AZone", True),  # unknown zone: the business default too
    ],
)
def test_quiet_hours_follow_the_local_clock(instant: str, zone: str | None, quiet: bool) -> None:
    at = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    assert is_quiet(at, zone) is quiet


def test_the_window_reopens_at_eight_local_time_across_the_spring_forward() -> None:
    # Night of 29 March 2026: Rome moves from UTC+1 to UTC+2 at 02:00.
    night = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 00:00 local
    assert next_allowed(night, "Europe/Rome") == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # 08:00 CEST


def test_the_window_reopens_the_next_morning_when_the_evening_is_quiet() -> None:
    evening = datetime(2026, 11, 1, 2, 30, tzinfo=UTC)  # 22:30 EDT on 31 Oct; DST ends that night
    assert next_allowed(evening, "America/New_York") == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)  # 08:00 EST


def test_an_allowed_instant_is_its_own_next_allowed() -> None:
    noon = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert next_allowed(noon, "Europe/Rome") == noon
