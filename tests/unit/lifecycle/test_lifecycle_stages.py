"""Lifecycle stages from a contact item and the rules (pure): each rule, its reason, its review day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from crm_core.errors import ConfigurationError
from crm_core.lifecycle.rules import load_rules, parse_rules
from crm_core.lifecycle.stages import evaluate, silence_limit_days
from crm_core.value import figures

RULES = load_rules()
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def contact(*purchases: str, **more: Any) -> dict[str, Any]:
    state = figures.empty_state()
    for day in purchases:
        state = figures.apply_purchase(state, datetime.fromisoformat(day + "T10:00:00+00:00"), Decimal("10"))
    return {"contact_id": "ct_x", "value": {"state": state}, **more}


def test_a_lead_explores_and_is_never_reviewed_by_time() -> None:
    verdict = evaluate(contact(), NOW, RULES)
    assert (verdict.stage, verdict.reason, verdict.review_on) == (
        "exploration",
        "lead without purchase",
        None,
    )


def test_engagement_makes_awareness() -> None:
    lead = contact(lifecycle={"signals": {"engagements": 1, "last_engagement": "survey answer"}})
    assert evaluate(lead, NOW, RULES).stage == "awareness"


def test_first_purchase_expands_and_the_silence_limit_is_reviewed() -> None:
    verdict = evaluate(contact("2026-06-01"), NOW, RULES)
    assert (verdict.stage, verdict.reason) == ("expansion", "first purchase")
    assert verdict.review_on == date(2026, 7, 1)  # the month rolls before the 90 days end (30 Aug)


def test_three_purchases_in_the_window_or_a_high_tier_commit() -> None:
    assert (
        evaluate(contact("2026-04-01", "2026-05-01", "2026-06-01"), NOW, RULES).reason
        == "3 purchases in 12 months"
    )
    assert evaluate(contact("2026-06-01", tier="Gold"), NOW, RULES).reason == "loyalty tier gold"


def test_silence_longer_than_twice_the_usual_interval_dissolves_from_the_day_it_ended() -> None:
    buyer = contact("2026-03-01", "2026-03-21", "2026-04-10")  # every 20 days: limit max(30, 40) = 40
    assert silence_limit_days(buyer["value"]["state"], RULES) == 40
    verdict = evaluate(buyer, NOW, RULES)
    assert (verdict.stage, verdict.reason) == ("dissolution", "no purchase for 40 days")
    assert verdict.since == datetime(2026, 5, 20, 10, 0, tzinfo=UTC)


def test_silence_never_longer_than_the_maximum_nor_shorter_than_the_minimum() -> None:
    rare = contact("2025-01-01", "2026-01-01")  # a yearly buyer: 2 x 365, capped at 90
    assert silence_limit_days(rare["value"]["state"], RULES) == 90
    weekly = contact("2026-06-01", "2026-06-08")  # 2 x 7 = 14, raised to 30
    assert silence_limit_days(weekly["value"]["state"], RULES) == 30


def test_an_unsubscribe_dissolves() -> None:
    verdict = evaluate(contact("2026-06-01", marketing_opt_out=True), NOW, RULES)
    assert (verdict.stage, verdict.reason) == ("dissolution", "unsubscribed")


def test_a_complaint_open_too_long_dissolves_and_before_that_is_reviewed() -> None:
    open_since = {"signals": {"open_complaints": {"case-1": "2026-06-10T10:00:00+00:00"}}}
    young = evaluate(contact("2026-06-01", lifecycle=open_since), NOW, RULES)
    assert young.stage == "expansion" and young.review_on == date(2026, 6, 24)
    old = evaluate(contact("2026-06-01", lifecycle=open_since), datetime(2026, 6, 24, 11, tzinfo=UTC), RULES)
    assert (old.stage, old.reason) == ("dissolution", "complaint unresolved for 14 days")


def test_rules_are_validated_with_the_field_named() -> None:
    with pytest.raises(ConfigurationError, match="dissolution.max_silence_days"):
        parse_rules({"dissolution": {"max_silence_days": 0}})
    with pytest.raises(ConfigurationError, match="commitment.colour"):
        parse_rules({"commitment": {"colour": "red"}})
    assert parse_rules({}).dissolution.max_silence_days == 90  # defaults without a file
