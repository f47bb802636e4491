"""The scheduled function: an EventBridge schedule event in, due steps out, safe to fire twice."""

from __future__ import annotations

from typing import Any

from crm_core.campaigns.enrollment import enroll
from tests.followups_kit import load_handler, outbox
from tests.helpers import scheduled
from tests.integration.campaigns.test_followup_sender import WELCOME, lead

SCHEDULED = scheduled("SendFollowupsFunctionEveryFiveMinutes")


def test_the_schedule_sends_what_is_due_once_however_often_it_fires(
    stack, frozen_clock, lambda_context
) -> None:
    handler = load_handler("send_followups").lambda_handler
    enroll(lead("sched@example.com"), "welcome", at=frozen_clock.now())

    first: dict[str, Any] = handler(SCHEDULED, lambda_context)
    again: dict[str, Any] = handler(SCHEDULED, lambda_context)  # EventBridge delivered it twice

    assert first == {"outcomes": {"sent": 1}, "stopped": None, "errors": 0}
    assert again == {"outcomes": {}, "stopped": None, "errors": 0}
    assert [m.subject for m in outbox(stack)] == [WELCOME]


def test_a_run_started_too_close_to_its_timeout_leaves_everything_for_the_next(
    stack, frozen_clock, lambda_context
) -> None:
    handler = load_handler("send_followups").lambda_handler
    enroll(lead("later@example.com"), "welcome", at=frozen_clock.now())
    lambda_context.get_remaining_time_in_millis = lambda: 4_000

    assert handler(SCHEDULED, lambda_context)["stopped"] == "time"
    assert outbox(stack) == []
