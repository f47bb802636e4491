"""Earning rules: a validated, versioned file; Decimal arithmetic with one rounding rule."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from crm_core.errors import ConfigurationError, ValidationFailed
from crm_core.loyalty.rules import load_rulebook, parse_rules, rulebook
from tests.loyalty_data import LAYER_RULES


def rules_text(**changes: object) -> str:
    return json.dumps({**LAYER_RULES, **changes})


def test_the_layer_rules_load_and_validate() -> None:
    book = rulebook()
    current = book.current(date(2026, 11, 23))
    assert current.version == "2026-01"
    assert [t.name for t in current.tiers] == ["bronze", "silver", "gold", "platinum"]


@pytest.mark.parametrize(
    ("amount", "currency", "tier", "expected"),
    [
        ("49.90", "EUR", "bronze", (49, 49)),  # rounded down: never a fraction of a point
        ("49.99", "EUR", "silver", (62, 49)),  # 62.4875 -> 62; tiers count 49, before the multiplier
        ("0.99", "EUR", "platinum", (1, 0)),
        ("100.00", "USD", "bronze", (90, 90)),
        ("1000000", "IDR", "gold", (90, 60)),  # 60 x 1.5 = 90.0 exactly
    ],
)
def test_points_are_amount_times_rate_times_multiplier_rounded_down(
    amount: str, currency: str, tier: str, expected: tuple[int, int]
) -> None:
    rules = rulebook().current(date(2026, 11, 23))
    assert rules.purchase_points(Decimal(amount), currency, tier) == expected


def test_decimal_arithmetic_has_no_float_error() -> None:
    rules = parse_rules(rules_text(points_per_unit={"EUR": 0.57}), "t.json")  # unquoted: still exact
    assert rules.points_per_unit["EUR"] == Decimal("0.57")
    assert int(100.00 * 0.57) == 56  # what floats would have given
    assert rules.purchase_points(Decimal("100.00"), "EUR", "bronze") == (57, 57)


def test_a_currency_without_a_rate_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed) as refused:
        rulebook().current(date(2026, 11, 23)).purchase_points(Decimal("1"), "JPY", None)
    assert refused.value.errors[0].field == "currency"


def test_tiers_are_reached_by_qualifying_points() -> None:
    rules = rulebook().current(date(2026, 11, 23))
    assert [rules.tier_for(p) for p in (0, 499, 500, 1999, 2000, 10**6)] == [
        "bronze",
        "bronze",
        "silver",
        "silver",
        "gold",
        "platinum",
    ]
    assert rules.birthday_points("gold") == 200
    assert rules.birthday_points("renamed-since") == 50  # an unknown tier counts as the base


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tiers": [{"name": "silver", "qualifying_points": 10, "multiplier": "1"}]}, "start at 0"),
        (
            {
                "tiers": [
                    {"name": "bronze", "qualifying_points": 0, "multiplier": "1"},
                    {"name": "gold", "qualifying_points": 0, "multiplier": "2"},
                ]
            },
            "strictly increasing",
        ),
        ({"points_per_unit": {"EUR": "-1"}}, "points_per_unit.EUR"),
        ({"points_per_unit": {"euro": "1"}}, "points_per_unit"),
        ({"birthday_bonus": {"bronze": 10}}, "birthday_bonus"),
        ({"first_purchase_bonus": 1.5}, "first_purchase_bonus"),
        ({"goodwill": {"default_points": 10, "max_points": 5}}, "max_points"),
        ({"lot_lifetime_months": 0}, "lot_lifetime_months"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_rules_are_refused_with_a_clear_reason(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        parse_rules(rules_text(**changes), "2026-02.json")
    assert "2026-02.json" in str(refused.value)
    assert message in str(refused.value)


def test_a_file_that_is_not_json_names_itself(tmp_path: Path) -> None:
    (tmp_path / "2026-01.json").write_text("{ not json")
    with pytest.raises(ConfigurationError, match=r"2026-01\.json: not valid JSON"):
        load_rulebook(tmp_path)


def test_versions_apply_from_their_day_and_old_ones_stay_readable(tmp_path: Path) -> None:
    (tmp_path / "2026-01.json").write_text(rules_text())
    (tmp_path / "2027-01.json").write_text(
        rules_text(version="2027-01", effective_from="2027-01-01", first_purchase_bonus=0)
    )
    book = load_rulebook(tmp_path)

    assert book.current(date(2026, 12, 31)).version == "2026-01"
    assert book.current(date(2027, 1, 1)).version == "2027-01"
    assert book.version("2026-01").first_purchase_bonus == 100
    with pytest.raises(ConfigurationError, match="never delete"):
        book.version("2025-01")


def test_a_version_must_match_its_file_name(tmp_path: Path) -> None:
    (tmp_path / "2026-02.json").write_text(rules_text())
    with pytest.raises(ConfigurationError, match="must match the file name"):
        load_rulebook(tmp_path)
