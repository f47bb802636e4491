"""Helpers of the follow-up tests: real-shaped events, the outbox as a user reads it, a fake clock.

`http_event` here also fills `queryStringParameters`, as API Gateway does when a query is present
(the unsubscribe links carry their token there).
"""

from __future__ import annotations

from tests.helpers import Mail, http_event, load_handler, outbox

Email = Mail  # the follow-up tests' name for a sent message

__all__ = ["Email", "FakeTime", "http_event", "load_handler", "outbox"]


class FakeTime:
    """A monotonic clock and a sleep that only moves it: a rate limiter's hours in an instant."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
