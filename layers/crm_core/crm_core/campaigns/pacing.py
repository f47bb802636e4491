"""Pacing under the SES sending rate, and knowing when to stop before the Lambda timeout."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from crm_core import aws
from crm_core.observability import get_logger
from crm_core.settings import get_settings

_SLACK_SECONDS = 1e-6  # lands strictly after the window edge despite float rounding


class RateLimiter:
    """A sliding-window limiter: never more than `rate` sends in any one-second window.

    Up to floor(rate) sends may go back to back (a burst after a slow call costs nothing), but the
    send that would make floor(rate) + 1 within a second waits. A rate below 1 spaces sends
    1/rate seconds apart. The clock and sleep are injectable, so a test can play hours in an instant.
    """

    def __init__(
        self,
        rate: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"the sending rate must be positive, got {rate!r}")
        self.rate = rate
        self.burst = max(1, math.floor(rate))
        self.window = 1.0 if rate >= 1 else 1.0 / rate
        self._monotonic, self._sleep = monotonic, sleep
        self._sent: deque[float] = deque(maxlen=self.burst)

    def acquire(self) -> None:
        """Wait (if needed) until one more send keeps within the rate, and count it."""
        now = self._monotonic()
        if len(self._sent) == self.burst:
            wait = self._sent[0] + self.window - now
            if wait > 0:
                self._sleep(wait + _SLACK_SECONDS)
                now = self._monotonic()
        self._sent.append(now)


def send_rate() -> float:
    """Messages per second the sender may use: SES_MAX_SEND_RATE, capped by the account's own
    MaxSendRate when SES tells it (GetSendQuota). Never raises: unreadable quota -> configured rate."""
    configured = float(get_settings().ses_max_send_rate)
    try:
        account = float(aws.ses().get_send_quota()["MaxSendRate"])
    except Exception as exc:  # noqa: BLE001 - pacing must not stop the run; the configured rate is safe
        get_logger().warning("SES send quota unreadable; using SES_MAX_SEND_RATE", extra={"error": str(exc)})
        return configured
    return min(configured, account) if account > 0 else configured


class Deadline:
    """Stop cleanly before the Lambda timeout: `expired()` once less than `margin_ms` remains."""

    def __init__(self, remaining_ms: Callable[[], int] | None, margin_ms: int) -> None:
        self._remaining_ms, self.margin_ms = remaining_ms, margin_ms

    def expired(self) -> bool:
        """True when the invocation has less than the margin left: stop before Lambda's timeout does."""
        return self._remaining_ms is not None and self._remaining_ms() < self.margin_ms
