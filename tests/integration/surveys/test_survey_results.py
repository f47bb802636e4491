"""Survey results from counters: GET /surveys/results (IAM) and `crm surveys results`, never a scan."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crm_core import campaigns
from infra.cli import main
from infra.commands import target
from tests.surveys_kit import answer, customer, results, score_links, send_due, surveys_in

# Who answered what: (address, locale, tier, score or None for no answer)
SHOP = [
    ("a@example.com", "en", "gold", 5),
    ("b@example.com", "en", None, 4),
    ("c@example.it", "it", None, 2),
    ("d@example.it", "it", "gold", 5),
    ("e@example.de", "de", None, None),
]


@pytest.fixture
def answered(stack, frozen_clock, lambda_context) -> None:
    for n, (address, locale, tier, _) in enumerate(SHOP):
        campaigns.on_purchase(customer(address, locale=locale, tier=tier), f"A-{n}", frozen_clock.now())
    for _ in range(5):
        frozen_clock.advance(timedelta(days=1))
        send_due(lambda_context)
    by_address = {mail.to: score_links(mail) for mail in surveys_in(stack)}
    for address, _, _, score in SHOP:
        if score is not None:
            answer(by_address[address][score], score, lambda_context, "ok")
    answer(by_address["b@example.com"][3], 3, lambda_context)  # b changes 4 to 3: the last one counts


def test_results_give_sent_answered_rate_csat_and_distribution(answered, lambda_context) -> None:
    status, body = results(
        lambda_context, survey="after-purchase", **{"from": "2026-11-28", "to": "2026-11-28"}
    )

    assert status == 200
    assert (body["sent"], body["answered"], body["response_rate"]) == (5, 4, 80.0)
    assert body["csat"] == 50.0  # 5 and 5 of 5, 3, 2, 5: two of four are 4-5
    assert body["distribution"] == {"1": 0, "2": 1, "3": 1, "4": 0, "5": 2}


def test_results_by_locale_and_by_tier(answered, lambda_context) -> None:
    _, by_locale = results(
        lambda_context, survey="after-purchase", group_by="locale", **{"from": "2026-11-01"}
    )
    _, by_tier = results(lambda_context, survey="after-purchase", group_by="tier", **{"from": "2026-11-01"})

    assert {g: (s["sent"], s["answered"], s["csat"]) for g, s in by_locale["groups"].items()} == {
        "de": (1, 0, None),
        "en": (2, 2, 50.0),
        "it": (2, 2, 50.0),
    }
    assert {g: s["csat"] for g, s in by_tier["groups"].items()} == {"gold": 100.0, "none": 0.0}


def test_a_period_before_the_surveys_went_out_has_nothing(answered, lambda_context) -> None:
    _, body = results(lambda_context, survey="after-purchase", **{"from": "2026-11-01", "to": "2026-11-27"})
    assert (body["sent"], body["answered"], body["response_rate"], body["csat"]) == (0, 0, None, None)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"survey": "nope"}, "survey"),
        ({}, "survey"),
        ({"survey": "after-purchase", "group_by": "city"}, "group_by"),
        ({"survey": "after-purchase", "from": "28/11/2026"}, "from"),
        ({"survey": "after-purchase", "from": "2026-12-01", "to": "2026-11-01"}, "from"),
    ],
)
def test_bad_parameters_get_400_naming_the_field(stack, lambda_context, query, field) -> None:
    status, body = results(lambda_context, **query)
    assert status == 400
    assert field in [e["field"] for e in body["errors"]]


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    """`crm` on a deployed stack's path (reading the counters), on this test's moto."""
    monkeypatch.setattr(target, "_override", target.InProcess())


def test_the_command_prints_the_figures_and_a_chart(answered, deployed, capsys: Any) -> None:
    assert main(["surveys", "results", "--survey", "after-purchase", "--group-by", "locale"]) == 0
    out = capsys.readouterr().out
    assert "all            sent      5  answered      4  response   80.0%  CSAT   50.0%" in out
    assert "locale=de" in out
    assert "  5 | " + "█" * 40 + " 2" in out and "  2 | " + "█" * 20 + " 1" in out and "  4 | 0" in out


def test_the_command_names_a_bad_survey(stack, deployed, capsys: Any) -> None:
    assert main(["surveys", "results", "--survey", "nope"]) == 2
    assert "survey: must be one of after-case, after-purchase" in capsys.readouterr().err
