"""The one clock. Code asks `now()`; tests and the local stack swap the clock to move time."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the code asks the time, so tests and the local stack can move it."""

    def now(self) -> datetime:
        """The current instant, timezone-aware in UTC."""
        ...


class SystemClock:
    """Real time."""

    def now(self) -> datetime:
        """Now, from the system clock."""
        return datetime.now(UTC)


class FrozenClock:
    """Time that moves only when told to: deterministic tests."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware(at)

    def now(self) -> datetime:
        """The instant this clock was set to."""
        return self._at

    def set(self, at: datetime) -> None:
        """Move the clock to `at` (timezone-aware)."""
        self._at = _aware(at)

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by `delta`."""
        self._at += delta


class MovableClock:
    """Real time shifted by an offset: it keeps ticking, and `set` jumps it (the local stack's clock)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The system's time plus the offset."""
        return datetime.fromtimestamp(time.time() + self._offset, UTC)

    def set(self, at: datetime) -> None:
        """Jump to `at`; the clock keeps ticking from there."""
        with self._lock:
            self._offset = _aware(at).timestamp() - time.time()

    def advance(self, delta: timedelta) -> None:
        """Jump forward by `delta`; the clock keeps ticking from there."""
        with self._lock:
            self._offset += delta.total_seconds()


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("the clock needs a timezone-aware datetime")
    return at.astimezone(UTC)


_clock: Clock = SystemClock()


def now() -> datetime:
    """The current instant (UTC, aware) on the process's clock."""
    return _clock.now()


def use_clock(clock: Clock) -> Clock:
    """Install `clock` for the whole process; returns the previous one so callers can restore it."""
    global _clock  # the single process-wide clock is the point of this module
    previous, _clock = _clock, clock
    return previous


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant ("2027-02-28T09:30:00Z"); raises ValueError without a timezone."""
    return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))


def iso(at: datetime, *, milliseconds: bool = False) -> str:
    """The one stored and sortable text form of an instant, in UTC: "2026-11-23T10:00:00Z", or with
    `milliseconds` "2026-11-23T10:00:00.000Z" (where several events can share a second)."""
    text = _aware(at).isoformat(timespec="milliseconds" if milliseconds else "seconds")
    return text.replace("+00:00", "Z")
