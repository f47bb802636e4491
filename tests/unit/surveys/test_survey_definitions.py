"""surveys.yaml is checked whole: every problem named with its place, nothing half-loaded."""

from __future__ import annotations

from typing import Any

import pytest

from crm_core.errors import ConfigurationError
from crm_core.surveys import definitions

GOOD: dict[str, Any] = {
    "surveys": {
        "after-purchase": {
            "trigger": "purchase",
            "scale": "csat",
            "delay": "5d",
            "low_at_or_below": 2,
            "question": {"en": "How was it?", "it": "Com'è andata?"},
        }
    }
}


def test_the_shipped_file_defines_the_purchase_and_case_surveys() -> None:
    catalog = definitions.load()
    purchase, case = catalog.get("after-purchase"), catalog.get("after-case")
    assert purchase is not None and case is not None
    assert (purchase.scale, list(purchase.scores), purchase.delay.days) == ("csat", [1, 2, 3, 4, 5], 5)
    assert (case.scale, list(case.scores), case.delay.days, case.trigger) == (
        "nps",
        list(range(11)),
        1,
        "case-resolved",
    )
    assert (catalog.link_valid_for.days, catalog.contact_gap.days) == (30, 14)


def test_defaults_and_the_english_fallback() -> None:
    catalog = definitions.parse(GOOD)
    survey = catalog.get("after-purchase")
    assert survey is not None
    assert survey.question_in("de") == "How was it?" and survey.question_in("it") == "Com'è andata?"
    assert survey.is_low(2) and not survey.is_low(3) and not survey.invites_review(5)


def test_every_problem_is_named_with_its_place() -> None:
    broken = {
        "link_valid_for": "a month",
        "colour": "blue",
        "surveys": {
            "Bad Name": {"trigger": "birthday", "scale": "stars", "delay": "soon", "question": {"it": "?"}},
            "nps-case": {
                "trigger": "case-resolved",
                "scale": "nps",
                "delay": "1d",
                "low_at_or_below": 11,
                "invite_review_at_or_above": 3,
                "question": {"en": "How likely...?"},
            },
        },
    }
    with pytest.raises(ConfigurationError) as raised:
        definitions.parse(broken)
    message = str(raised.value)
    for expected in (
        "link_valid_for: 'a month' is not a duration",
        "(top).colour: unknown field",
        "surveys.Bad Name: a survey name must be lower-case",
        "surveys.Bad Name.trigger: 'birthday' is not one of purchase, case-resolved",
        "surveys.Bad Name.scale: 'stars' is not one of csat, nps",
        "surveys.Bad Name.delay: 'soon' is not a duration",
        "surveys.Bad Name.low_at_or_below: is required",
        "surveys.Bad Name.question.en: is required",
        "surveys.nps-case.low_at_or_below: must be a whole score from 0 to 10, got 11",
    ):
        assert expected in message


def test_a_review_threshold_must_be_above_the_low_one() -> None:
    data = {"surveys": {"s": {**GOOD["surveys"]["after-purchase"], "invite_review_at_or_above": 2}}}
    with pytest.raises(ConfigurationError, match="invite_review_at_or_above: must be above low_at_or_below"):
        definitions.parse(data)


def test_a_campaign_step_must_name_a_defined_survey_and_never_be_marketing() -> None:
    from crm_core.campaigns import definitions as campaigns

    data = {
        "campaigns": {
            name: {
                "consent_required": False,
                "steps": [{"name": "s", "survey": "after-purchase", "marketing": False}],
            }
            for name in ("welcome", "post-purchase", "win-back")
        }
    }
    data["campaigns"]["case-survey"] = {
        "consent_required": False,
        "steps": [{"name": "survey", "survey": "nope", "marketing": True}],
    }
    with pytest.raises(ConfigurationError) as raised:
        campaigns.parse(data)
    message = str(raised.value)
    assert "campaigns.case-survey.steps[0].survey: 'nope' is not a survey of surveys.yaml" in message
    assert "campaigns.case-survey.steps[0].marketing: a survey is a service message" in message
    assert campaigns.load().get("post-purchase").steps[1].after.days == 5  # the survey's own delay
