"""Staff, routing, round-robin and task rules as data: `owners.yaml` beside this module, validated at load.

A mistake in the file raises ConfigurationError naming the place, at cold start, not on a customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm_core.checks import read_yaml
from crm_core.errors import ConfigurationError

PATH = Path(__file__).with_name("owners.yaml")
LANGUAGES = frozenset({"en", "it", "de", "id"})
# Rule kinds the code acts on; `low-survey-score` and `dissolution` are hooks other areas call.
RULE_KINDS = frozenset({"first-purchase", "vip-birthday", "vip-complaint", "low-survey-score", "dissolution"})


@dataclass(frozen=True, slots=True)
class Staff:
    """A member of staff of owners.yaml who may own contacts."""

    id: str
    name: str
    email: str
    time_zone: str
    language: str
    team: str

    def public(self) -> dict[str, str]:
        """What the API shows of a member of staff."""
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "time_zone": self.time_zone,
            "language": self.language,
            "team": self.team,
        }


@dataclass(frozen=True, slots=True)
class Route:
    """A routing rule: new customers of a domain or country get this owner."""

    name: str
    owner: str
    domain: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class TaskRule:
    """A rule that creates a task for the owner: when, and for what order value or score."""

    kind: str
    due_in_days: int
    note: str
    min_order_value: Decimal | None = None
    max_score: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Directory:
    """The owners file, checked: staff, routing, round-robin, task rules and the digest's hour."""

    staff: Mapping[str, Staff]
    routing: tuple[Route, ...]
    round_robin_team: str | None
    round_robin_min: Decimal | None
    rules: Mapping[str, TaskRule]
    digest_hour: int
    birthdays_days: int

    def team(self, name: str) -> list[Staff]:
        """The staff of team `name`."""
        return [s for s in self.staff.values() if s.team == name]


def _decimal(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ConfigurationError(f"{PATH.name}: {where} must be a number, got {value!r}") from None


def _staff(raw: Mapping[str, Any], index: int) -> Staff:
    where = f"staff[{index}]"
    try:
        member = Staff(**{k: str(raw[k]) for k in ("id", "name", "email", "time_zone", "language", "team")})
    except KeyError as exc:
        raise ConfigurationError(f"{PATH.name}: {where} lacks {exc.args[0]}") from None
    if member.language not in LANGUAGES:
        raise ConfigurationError(f"{PATH.name}: {where}.language must be one of {sorted(LANGUAGES)}")
    try:
        ZoneInfo(member.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"{PATH.name}: {where}.time_zone {member.time_zone!r} is unknown") from None
    if "@" not in member.email:
        raise ConfigurationError(f"{PATH.name}: {where}.email is not an address")
    return member


def _rule(raw: Mapping[str, Any], index: int) -> TaskRule:
    where = f"task_rules[{index}]"
    kind = str(raw.get("kind"))
    if kind not in RULE_KINDS:
        raise ConfigurationError(f"{PATH.name}: {where}.kind must be one of {sorted(RULE_KINDS)}")
    return TaskRule(
        kind=kind,
        due_in_days=int(raw.get("due_in_days", 1)),
        note=str(raw.get("note", "")),
        min_order_value=_decimal(raw["min_order_value"], where) if "min_order_value" in raw else None,
        max_score=_decimal(raw["max_score"], where) if "max_score" in raw else None,
    )


def _route(raw: Mapping[str, Any], index: int, staff: Mapping[str, Staff]) -> Route:
    route = Route(
        name=str(raw.get("name", f"route-{index}")),
        owner=str(raw.get("owner")),
        domain=str(raw["domain"]).lower() if raw.get("domain") else None,
        country=str(raw["country"]).upper() if raw.get("country") else None,
    )
    if route.owner not in staff:
        raise ConfigurationError(f"{PATH.name}: routing[{index}].owner {route.owner!r} is not in staff")
    if not route.domain and not route.country:
        raise ConfigurationError(f"{PATH.name}: routing[{index}] needs a domain or a country")
    return route


def _robin_team(robin: Mapping[str, Any], staff: Mapping[str, Staff]) -> str | None:
    team = str(robin["team"]) if robin.get("team") else None
    if team is not None and not any(s.team == team for s in staff.values()):
        raise ConfigurationError(f"{PATH.name}: round_robin.team {team!r} has no staff")
    return team


def parse(data: Mapping[str, Any]) -> Directory:
    """The directory of a parsed owners file; raises ConfigurationError naming the first mistake."""
    staff = {s.id: s for s in (_staff(raw, i) for i, raw in enumerate(data.get("staff") or []))}
    routes = [_route(raw, i, staff) for i, raw in enumerate(data.get("routing") or [])]
    robin = data.get("round_robin") or {}
    team = _robin_team(robin, staff)
    rules = {r.kind: r for r in (_rule(raw, i) for i, raw in enumerate(data.get("task_rules") or []))}
    digest = data.get("digest") or {}
    return Directory(
        staff=staff,
        routing=tuple(routes),
        round_robin_team=team,
        round_robin_min=_decimal(robin.get("min_order_value", "0"), "round_robin.min_order_value"),
        rules=rules,
        digest_hour=int(digest.get("hour", 8)),
        birthdays_days=int(digest.get("birthdays_days", 7)),
    )


@cache
def load() -> Directory:
    """The deployment's owners file, parsed once per process."""
    return parse(read_yaml(PATH) or {})
