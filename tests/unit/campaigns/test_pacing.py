"""Pacing: 10,000 sends through the limiter never exceed the rate in any one-second window."""

from __future__ import annotations

import random
from bisect import bisect_left
from types import SimpleNamespace

import pytest

from crm_core.campaigns.pacing import Deadline, RateLimiter
from tests.followups_kit import FakeTime


def _busiest_second(times: list[float]) -> int:
    """The most sends inside any window [t, t + 1s) (it suffices to start windows at sends)."""
    return max(bisect_left(times, t + 1.0, lo=i) - i for i, t in enumerate(times))


@pytest.mark.parametrize("rate", [1, 4, 14, 50, 12.6])
def test_ten_thousand_due_messages_never_exceed_the_rate_in_any_second(rate: float) -> None:
    fake, dice, times = FakeTime(), random.Random(rate), []
    limiter = RateLimiter(rate, monotonic=fake.monotonic, sleep=fake.sleep)
    for _ in range(10_000):
        limiter.acquire()
        times.append(fake.now)
        fake.now += dice.choice([0.0, 0.001, 0.002, 0.01, 0.2])  # SES answers fast, now and then slowly

    assert _busiest_second(times) <= rate
    assert _busiest_second(times) == int(rate)  # and it does use the rate it is given
    assert times[-1] - times[0] >= (10_000 / int(rate)) - 1


def test_a_rate_below_one_spaces_sends_out() -> None:
    fake = FakeTime()
    limiter = RateLimiter(0.5, monotonic=fake.monotonic, sleep=fake.sleep)
    times = []
    for _ in range(5):
        limiter.acquire()
        times.append(fake.now)
    assert [round(b - a, 3) for a, b in zip(times, times[1:], strict=False)] == [2.0] * 4


def test_a_limiter_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        RateLimiter(0)


def test_the_deadline_keeps_a_safety_margin() -> None:
    remaining = iter([30_000, 12_000, 9_999])
    deadline = Deadline(lambda: next(remaining), margin_ms=10_000)
    assert [deadline.expired() for _ in range(3)] == [False, False, True]
    assert Deadline(None, margin_ms=10_000).expired() is False


def test_the_sender_paces_ten_thousand_due_messages_under_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    # The run loop with its real limiter; each message's DynamoDB and SES work is faked here (under
    # moto 10,000 would take minutes; tests/integration/campaigns/test_followup_sender.py shows it
    # end to end).
    from crm_core.campaigns import sender
    from crm_core.campaigns.definitions import Catalog

    fake, sent_at = FakeTime(), []

    def send(enrollment: object, catalog: object, *, pace) -> str:
        pace()
        sent_at.append(fake.now)
        fake.now += 0.004
        return "sent"

    due = [SimpleNamespace(contact_id=f"ct_{i}", enrollment_key="welcome") for i in range(10_000)]
    monkeypatch.setattr(sender, "due_enrollments", lambda now: iter(due))
    monkeypatch.setattr(sender, "handle", send)
    monkeypatch.setattr(sender, "count", lambda name, value=1: None)
    report = sender.run(
        limiter=RateLimiter(14, monotonic=fake.monotonic, sleep=fake.sleep), catalog=Catalog(campaigns={})
    )

    assert report.outcomes == {"sent": 10_000}
    assert _busiest_second(sent_at) == 14
