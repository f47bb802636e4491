"""Quiet hours: marketing mail only inside the contact's local daytime window (DST-aware)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm_core.errors import ConfigurationError
from crm_core.settings import get_settings


def zone(name: str | None) -> ZoneInfo:
    """The contact's zone, or the business default when missing or unknown (never skipped)."""
    for candidate in (name, get_settings().default_time_zone):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def window() -> tuple[time, time]:
    """(quiet start, quiet end) from settings, e.g. "21:00-08:00"; raises ConfigurationError if malformed."""
    text = get_settings().quiet_hours
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ConfigurationError(f"QUIET_HOURS must look like 21:00-08:00, got {text!r}") from None
    return start, end


def is_quiet(instant: datetime, time_zone: str | None) -> bool:
    """True if `instant` falls inside the quiet hours of `time_zone`."""
    start, end = window()
    if start == end:
        return False
    local = instant.astimezone(zone(time_zone)).time()
    return (local >= start or local < end) if start > end else (start <= local < end)


def next_allowed(instant: datetime, time_zone: str | None) -> datetime:
    """`instant` itself when allowed, else the end of the current quiet period (UTC)."""
    if not is_quiet(instant, time_zone):
        return instant
    tz = zone(time_zone)
    local = instant.astimezone(tz)
    _, end = window()
    candidate = datetime.combine(local.date(), end, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    return candidate.astimezone(UTC)
