"""Earning rules as data: versioned JSON files in `earning_rules/`, validated when first loaded.

Each file is one version (`version` equals the file name) that applies from its `effective_from`
day; marketers add a new file rather than edit an old one, because every ledger entry records
the version that produced it and a refund reverses points with the figures of that version.

Arithmetic is Decimal end to end (JSON numbers are read as Decimal, never float). Rounding:
points = floor(amount x points_per_unit x tier multiplier); qualifying points (what tiers are
measured in) = floor(amount x points_per_unit). A customer never earns a fraction of a point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crm_core.errors import ConfigurationError, FieldError, ValidationFailed

RULES_DIR = Path(__file__).parent / "earning_rules"

PositiveDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
Points = Annotated[int, Field(ge=0, le=1_000_000, strict=True)]


class TierRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
    qualifying_points: Points
    multiplier: PositiveDecimal


class GoodwillRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default_points: Points
    max_points: Points

    @model_validator(mode="after")
    def _default_within_max(self) -> GoodwillRule:
        if self.default_points > self.max_points:
            raise ValueError("default_points exceeds max_points")
        return self


class EarningRules(BaseModel):
    """One version of the earning rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,40}$")]
    effective_from: date
    description: str = ""
    points_per_unit: dict[Annotated[str, Field(pattern=r"^[A-Z]{3}$")], PositiveDecimal]
    lot_lifetime_months: Annotated[int, Field(ge=1, le=120, strict=True)]
    tiers: Annotated[list[TierRule], Field(min_length=1)]
    first_purchase_bonus: Points
    # The bonus goes to the first purchase earning at least this many qualifying points (a purchase
    # of 0.0001 is not a first purchase); smaller purchases earn their points and do not count.
    first_purchase_minimum_points: Annotated[int, Field(ge=1, le=1_000_000, strict=True)] = 1
    birthday_bonus: dict[str, Points]
    goodwill: GoodwillRule

    @model_validator(mode="after")
    def _consistent(self) -> EarningRules:
        thresholds = [t.qualifying_points for t in self.tiers]
        if thresholds[0] != 0:
            raise ValueError("the first tier must start at 0 qualifying points")
        if any(b <= a for a, b in zip(thresholds, thresholds[1:], strict=False)):
            raise ValueError("tiers must be listed with strictly increasing qualifying_points")
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError("tier names must be unique")
        if set(self.birthday_bonus) != set(names):
            raise ValueError(f"birthday_bonus must name exactly the tiers {names}")
        if not self.points_per_unit:
            raise ValueError("points_per_unit must name at least one currency")
        return self

    # ---- tiers ----------------------------------------------------------------------------------
    @property
    def base_tier(self) -> str:
        return self.tiers[0].name

    def rank(self, tier: str | None) -> int:
        """Position of a tier (0 = base); an unknown tier (renamed since) counts as the base."""
        names = [t.name for t in self.tiers]
        return names.index(tier) if tier in names else 0

    def tier_rule(self, tier: str | None) -> TierRule:
        return self.tiers[self.rank(tier)]

    def tier_for(self, qualifying_points: int) -> str:
        """The highest tier whose threshold the qualifying points reach."""
        return [t.name for t in self.tiers if qualifying_points >= t.qualifying_points][-1]

    def next_tier(self, tier: str | None) -> TierRule | None:
        rank = self.rank(tier)
        return self.tiers[rank + 1] if rank + 1 < len(self.tiers) else None

    # ---- earning --------------------------------------------------------------------------------
    def purchase_points(self, amount: Decimal, currency: str, tier: str | None) -> tuple[int, int]:
        """(points earned, qualifying points) for a purchase; raises ValidationFailed for a currency
        these rules do not earn in."""
        rate = self.points_per_unit.get(currency)
        if rate is None:
            raise ValidationFailed(
                [FieldError("currency", f"{currency} earns no points under rules {self.version}")]
            )
        qualifying = _floor(amount * rate)
        points = _floor(amount * rate * self.tier_rule(tier).multiplier)
        return points, qualifying

    def birthday_points(self, tier: str | None) -> int:
        return self.birthday_bonus[self.tier_rule(tier).name]


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True)
class RuleBook:
    """Every version of the rules, oldest first."""

    versions: tuple[EarningRules, ...]

    def current(self, on: date) -> EarningRules:
        """The version in force on a day (the latest whose effective_from is not after it)."""
        in_force = [r for r in self.versions if r.effective_from <= on]
        return in_force[-1] if in_force else self.versions[0]

    def version(self, name: str) -> EarningRules:
        """A version by name; raises ConfigurationError when it has been removed from the layer."""
        for rules in self.versions:
            if rules.version == name:
                return rules
        raise ConfigurationError(f"earning rules version {name!r} is not in the layer (never delete one)")


def parse_rules(text: str, source: str) -> EarningRules:
    """Validate one rules file; raises ConfigurationError naming the file and every problem in it."""
    try:
        data = json.loads(text, parse_float=Decimal)  # never a float, even for an unquoted 1.25
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{source}: not valid JSON ({exc})") from None
    try:
        return EarningRules.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(file)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"{source}: {problems}") from None


def load_rulebook(folder: Path | None = None) -> RuleBook:
    """Read and validate every version in `folder` (the layer's by default); raises
    ConfigurationError on any problem."""
    folder = RULES_DIR if folder is None else folder
    versions = []
    for path in sorted(folder.glob("*.json")):
        rules = parse_rules(path.read_text(encoding="utf-8"), path.name)
        if rules.version != path.stem:
            raise ConfigurationError(f"{path.name}: version {rules.version!r} must match the file name")
        versions.append(rules)
    if not versions:
        raise ConfigurationError(f"no earning rules in {folder}")
    versions.sort(key=lambda r: r.effective_from)
    days = [r.effective_from for r in versions]
    if len(set(days)) != len(days):
        raise ConfigurationError("two earning rules versions take effect on the same day")
    return RuleBook(tuple(versions))


@cache
def rulebook() -> RuleBook:
    """The layer's rules, loaded and validated once per process."""
    return load_rulebook()
