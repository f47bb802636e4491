"""Occasions through the local stack: the hourly schedule as declared, and the demo scene's story."""

from __future__ import annotations

import pytest

from infra import demo
from infra.local.client import LocalClient

pytestmark = pytest.mark.e2e


def test_the_occasions_function_is_scheduled_at_five_past_every_hour(local_stack: LocalClient) -> None:
    schedules = {s["function"]: s for s in local_stack.schedules()}

    assert schedules["SendOccasionsFunction"]["expression"] == "cron(5 * * * ? *)"


def test_a_birthday_morning_brings_one_greeting_and_a_second_run_nothing(local_stack: LocalClient) -> None:
    scene = demo.load(demo.SCENES / "30_occasions.py")

    scene.play(local_stack)  # raises AssertionError when what it tells does not happen

    greetings = [m for m in local_stack.outbox() if scene.EMAIL in m["to"]]
    assert len(greetings) == 1
    assert greetings[0]["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
