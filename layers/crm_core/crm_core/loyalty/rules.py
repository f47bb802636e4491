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
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from crm_core.checks import Problems
from crm_core.errors import ConfigurationError, FieldError, ValidationFailed

RULES_DIR = Path(__file__).parent / "earning_rules"

# Plain checks (crm_core.checks), not pydantic: these rules are on the import path of four functions,
# and a pydantic model costs its import and schema build at every cold start (docs/benchmarks.md).
_TIER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_VERSION = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_MAX_POINTS = 1_000_000


class _Problems(Problems):
    """The shared collector (crm_core.checks), with the few checks these files add."""

    def fields(
        self, data: Any, where: str, required: set[str], optional: frozenset[str] | set[str] = frozenset()
    ) -> dict[str, Any]:
        """The object's fields; reports a non-object, a missing field and an unknown one."""
        if not isinstance(data, dict):
            self.add(where, "must be an object")
            return {}
        for name in sorted(required - set(data)):
            self.add(_join(where, name), "Field required")
        for name in sorted(set(data) - required - optional):
            self.add(_join(where, name), "Extra inputs are not permitted")
        return data

    def points(self, value: Any, where: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(where, "must be a whole number")
            return minimum
        if not minimum <= value <= _MAX_POINTS:
            self.add(where, f"must be between {minimum} and {_MAX_POINTS}")
        return value

    def positive(self, value: Any, where: str) -> Decimal:
        try:
            number = (
                Decimal(str(value))
                if isinstance(value, str | int | Decimal) and not isinstance(value, bool)
                else None
            )
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            self.add(where, "must be a decimal number")
            return Decimal(1)
        if number <= 0:
            self.add(where, "must be greater than 0")
        return number

    def string(self, value: Any, where: str, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(value, str):
            self.add(where, "must be a string")
            return ""
        if pattern is not None and not pattern.match(value):
            self.add(where, f"must match {pattern.pattern}")
        return value


def _join(where: str, name: object) -> str:
    return f"{where}.{name}" if where else str(name)


@dataclass(frozen=True)
class TierRule:
    """A tier: the qualifying points that reach it and its earning multiplier."""

    name: str
    qualifying_points: int
    multiplier: Decimal


@dataclass(frozen=True)
class GoodwillRule:
    """Goodwill points for a complaint case: the default grant and the most one case may get."""

    default_points: int
    max_points: int


@dataclass(frozen=True)
class EarningRules:
    """One version of the earning rules (build one with `parse_rules`, which validates it)."""

    version: str
    effective_from: date
    points_per_unit: dict[str, Decimal]
    lot_lifetime_months: int
    tiers: tuple[TierRule, ...]
    first_purchase_bonus: int
    birthday_bonus: dict[str, int]
    goodwill: GoodwillRule
    description: str = ""
    # The bonus goes to the first purchase earning at least this many qualifying points (a purchase
    # of 0.0001 is not a first purchase); smaller purchases earn their points and do not count.
    first_purchase_minimum_points: int = 1

    # ---- tiers ----------------------------------------------------------------------------------
    @property
    def base_tier(self) -> str:
        """The tier every account starts in."""
        return self.tiers[0].name

    def rank(self, tier: str | None) -> int:
        """Position of a tier (0 = base); an unknown tier (renamed since) counts as the base."""
        names = [t.name for t in self.tiers]
        return names.index(tier) if tier in names else 0

    def tier_rule(self, tier: str | None) -> TierRule:
        """The rule of `tier` (the base tier's for an unknown name)."""
        return self.tiers[self.rank(tier)]

    def tier_for(self, qualifying_points: int) -> str:
        """The highest tier whose threshold the qualifying points reach."""
        return [t.name for t in self.tiers if qualifying_points >= t.qualifying_points][-1]

    def next_tier(self, tier: str | None) -> TierRule | None:
        """The tier above `tier`, None at the top."""
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
        """The birthday bonus of `tier`."""
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
    problems = _Problems()
    rules = _validate(data, problems)
    problems.raise_if_any(source)
    if rules is None:  # pragma: no cover - a missing field is always a problem too
        raise ConfigurationError(f"{source}: incomplete")
    return rules


_REQUIRED = {
    "version",
    "effective_from",
    "points_per_unit",
    "lot_lifetime_months",
    "tiers",
    "first_purchase_bonus",
    "birthday_bonus",
    "goodwill",
}
_OPTIONAL = {"description", "first_purchase_minimum_points"}


def _validate(data: Any, p: _Problems) -> EarningRules | None:
    """The rules in `data`, each field checked in the file's order; None when a field is missing."""
    fields = p.fields(data, "", _REQUIRED, _OPTIONAL)
    if not fields or any(name not in fields for name in _REQUIRED):
        return None
    version = p.string(fields["version"], "version", _VERSION)
    effective_from = _effective_from(fields["effective_from"], p)
    points_per_unit = _points_per_unit(fields["points_per_unit"], p)
    lifetime = _lot_lifetime_months(fields["lot_lifetime_months"], p)
    tiers = _tiers(fields["tiers"], p)
    first_bonus = p.points(fields["first_purchase_bonus"], "first_purchase_bonus")
    minimum = p.points(fields.get("first_purchase_minimum_points", 1), "first_purchase_minimum_points", 1)
    birthday = _birthday_bonus(fields["birthday_bonus"], tiers, p)
    goodwill = _goodwill(fields["goodwill"], p)
    description = p.string(fields.get("description", ""), "description")
    return EarningRules(
        version=version,
        effective_from=effective_from,
        points_per_unit=points_per_unit,
        lot_lifetime_months=lifetime,
        tiers=tiers,
        first_purchase_bonus=first_bonus,
        birthday_bonus=birthday,
        goodwill=goodwill,
        description=description,
        first_purchase_minimum_points=minimum,
    )


def _effective_from(value: Any, p: _Problems) -> date:
    """The first day these rules apply (an ISO date)."""
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        p.add("effective_from", "must be a date (YYYY-MM-DD)")
        return date.min


def _points_per_unit(rates: Any, p: _Problems) -> dict[str, Decimal]:
    """Points per unit of each currency: at least one, each a three-letter code with a positive rate."""
    points_per_unit: dict[str, Decimal] = {}
    if not isinstance(rates, dict):
        p.add("points_per_unit", "must be an object")
        return points_per_unit
    for currency, rate in rates.items():
        p.string(currency, f"points_per_unit.{currency}", _CURRENCY)
        points_per_unit[currency] = p.positive(rate, f"points_per_unit.{currency}")
    if not rates:
        p.add("points_per_unit", "must name at least one currency")
    return points_per_unit


def _lot_lifetime_months(lifetime: Any, p: _Problems) -> int:
    """How long earned points last: a whole number of months from 1 to 120."""
    if isinstance(lifetime, bool) or not isinstance(lifetime, int) or not 1 <= lifetime <= 120:
        p.add("lot_lifetime_months", "must be a whole number between 1 and 120")
    return lifetime if isinstance(lifetime, int) else 0


def _birthday_bonus(bonus: Any, tiers: tuple[TierRule, ...], p: _Problems) -> dict[str, int]:
    """The birthday bonus of each tier, naming exactly the tiers (once they are valid)."""
    if not isinstance(bonus, dict):
        p.add("birthday_bonus", "must be an object")
        return {}
    birthday = {str(k): p.points(v, f"birthday_bonus.{k}") for k, v in bonus.items()}
    names = [t.name for t in tiers]
    if tiers and set(birthday) != set(names):
        p.add("birthday_bonus", f"must name exactly the tiers {names}")
    return birthday


def _goodwill(value: Any, p: _Problems) -> GoodwillRule:
    """The goodwill grant of a complaint case: a default no larger than the most one case may get."""
    goodwill_fields = p.fields(value, "goodwill", {"default_points", "max_points"})
    goodwill = GoodwillRule(
        p.points(goodwill_fields.get("default_points", 0), "goodwill.default_points"),
        p.points(goodwill_fields.get("max_points", 0), "goodwill.max_points"),
    )
    if goodwill.default_points > goodwill.max_points:
        p.add("goodwill", "default_points exceeds max_points")
    return goodwill


_TIER_FIELDS = ("name", "qualifying_points", "multiplier")


def _tiers(data: Any, p: _Problems) -> tuple[TierRule, ...]:
    """The tiers, lowest first: at least one, each complete, in a valid ladder."""
    if not isinstance(data, list) or not data:
        p.add("tiers", "must be a list of at least one tier")
        return ()
    tiers = [tier for n, raw in enumerate(data) if (tier := _tier(raw, f"tiers.{n}", p)) is not None]
    _check_ladder(tiers, p)
    return tuple(tiers)


def _tier(raw: Any, where: str, p: _Problems) -> TierRule | None:
    """One tier; None when it is not an object or misses a field (reported by `fields`)."""
    fields = p.fields(raw, where, set(_TIER_FIELDS))
    if len(fields) < len(_TIER_FIELDS) or any(k not in fields for k in _TIER_FIELDS):
        return None
    return TierRule(
        p.string(fields["name"], f"{where}.name", _TIER_NAME),
        p.points(fields["qualifying_points"], f"{where}.qualifying_points"),
        p.positive(fields["multiplier"], f"{where}.multiplier"),
    )


def _check_ladder(tiers: list[TierRule], p: _Problems) -> None:
    """The base tier starts at 0, thresholds strictly increase, and names are unique."""
    thresholds = [t.qualifying_points for t in tiers]
    if thresholds and thresholds[0] != 0:
        p.add("tiers", "the first tier must start at 0 qualifying points")
    if any(b <= a for a, b in zip(thresholds, thresholds[1:], strict=False)):
        p.add("tiers", "tiers must be listed with strictly increasing qualifying_points")
    names = [t.name for t in tiers]
    if len(set(names)) != len(names):
        p.add("tiers", "tier names must be unique")


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
