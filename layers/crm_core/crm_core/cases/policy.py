"""The case rule file as plain data, its checks, and what a loaded policy does: classify and route.

No schema library: the checks are crm_core.checks (every problem collected and named by its place),
so the complaint and escalation functions pay neither pydantic's import nor a model build at cold
start. `crm_core.cases.rules` reads the file; `crm` and the local stack check it before it is used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any, NamedTuple

from crm_core.cases.categories import CATEGORIES, keyword_pattern, normalize_text
from crm_core.checks import Problems, duration

EXTRA = "Extra inputs are not permitted"

# The policy's records are NamedTuples, immutable like frozen dataclasses: Python defines one in
# about a quarter of a frozen dataclass's time (~0.4 ms against ~1.5 ms on python3.12), and the
# complaint function's cold start defines nine of them. Policy itself caches its patterns, so it
# stays a dataclass.


class Team(NamedTuple):
    """A helpdesk team: the queue its messages go to and who is alerted for it."""

    queue: str  # the helpdesk queue: `queue` attribute of messages on CaseQueue
    notify: str  # who is alerted: the `team` attribute's subscribers on the alerts topic


class Target(NamedTuple):
    """First-response and resolution targets of one priority, as durations."""

    first_response: str
    resolution: str


class Level(NamedTuple):
    """One escalation step: who is told, how long after the breach."""

    level: int
    after: str  # after the breach
    notify: str


class Sla(NamedTuple):
    """When the warning comes (share of the target) and the escalation levels, in order."""

    warn_at: float
    escalation: tuple[Level, ...]


class CustomerValue(NamedTuple):
    """Which customers count as valuable (tiers, VIP, top value) and how much it raises priority."""

    tiers: tuple[str, ...] = ()
    vip: bool = True
    most_valuable: bool = True  # the contact's value is in the business's top share (crm_core.value)
    raise_priority: int = 1


class CategoryRule(NamedTuple):
    """The keywords that put a message in one of the known categories."""

    name: str
    keywords: tuple[str, ...]


class Route(NamedTuple):
    """A routing rule: messages matching its categories, keywords, domains or tiers go to a team."""

    name: str
    team: str
    priority: str
    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    sender_domains: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()


class DefaultRoute(NamedTuple):
    """Where a message that no route matches goes, and at what priority."""

    team: str
    priority: str


class Routing(NamedTuple):
    """Where a case goes and how urgent it is."""

    category: str
    team: str
    queue: str
    priority: str
    rule: str
    valued_customer: bool


@dataclass(frozen=True)
class Policy:
    """The whole rule file."""

    version: int
    teams: dict[str, Team]
    priorities: dict[str, Target]  # most urgent first
    customer_value: CustomerValue
    sla: Sla
    categories: tuple[CategoryRule, ...]
    routes: tuple[Route, ...]
    default_route: DefaultRoute
    people: dict[str, str] = field(default_factory=dict)  # escalation audiences beyond the team

    @cached_property
    def _category_patterns(self) -> list[tuple[str, re.Pattern[str]]]:
        return [(c.name, p) for c in self.categories if (p := keyword_pattern(c.keywords))]

    @cached_property
    def _route_patterns(self) -> list[re.Pattern[str] | None]:
        return [keyword_pattern(r.keywords) for r in self.routes]

    def classify(self, text: str) -> str:
        """The category of a message's text (subject and body): the one whose keywords occur most often.

        Ties go to the category listed first; a text matching none is "other". ("The parcel arrived
        broken, the glass is cracked" is product quality: two hits against one for delivery.)
        """
        normalized = normalize_text(text)
        best, best_hits = "other", 0
        for name, pattern in self._category_patterns:
            hits = len(pattern.findall(normalized))
            if hits > best_hits:
                best, best_hits = name, hits
        return best

    def route(
        self,
        *,
        text: str,
        sender: str,
        tier: str | None = None,
        vip: bool = False,
        most_valuable: bool = False,
    ) -> Routing:
        """Classify and route a message; the first route whose every condition holds wins, else the default;
        a valued customer's priority is then raised."""
        normalized = normalize_text(text)
        category = self.classify(text)
        domain = sender.rpartition("@")[2].lower()
        chosen: Route | DefaultRoute = self.default_route
        for rule, pattern in zip(self.routes, self._route_patterns, strict=True):
            if _holds(
                rule,
                pattern,
                category=category,
                normalized=normalized,
                domain=domain,
                tier=(tier or "").lower(),
            ):
                chosen = rule
                break
        value = self.customer_value
        valued = bool(
            (tier or "").lower() in {t.lower() for t in value.tiers}
            or (value.vip and vip)
            or (value.most_valuable and most_valuable)  # top share by 12-month value (crm_core.value)
        )
        priority = self.raised(chosen.priority, value.raise_priority) if valued else chosen.priority
        name = chosen.name if isinstance(chosen, Route) else "default"
        return Routing(category, chosen.team, self.teams[chosen.team].queue, priority, name, valued)

    def address_of(self, audience: str, team: str) -> str:
        """Who an alert for `audience` goes to: the case team's address, or a named person's."""
        if audience == "team":
            return (self.teams.get(team) or self.teams[self.default_route.team]).notify
        return self.people[audience]

    def target(self, priority: str) -> tuple[timedelta, timedelta]:
        """First-response and resolution targets of a priority."""
        spec = self.priorities[priority]
        return duration(spec.first_response), duration(spec.resolution)

    def raised(self, priority: str, steps: int) -> str:
        """The priority `steps` more urgent (never past the most urgent)."""
        order = list(self.priorities)
        return order[max(0, order.index(priority) - steps)]


def _holds(
    rule: Route, pattern: re.Pattern[str] | None, *, category: str, normalized: str, domain: str, tier: str
) -> bool:
    """Whether every condition of a route holds for a message."""
    if rule.categories and category not in rule.categories:
        return False
    if pattern is not None and not pattern.search(normalized):
        return False
    domains = [d.lower() for d in rule.sender_domains]
    if domains and not any(domain == d or domain.endswith("." + d) for d in domains):
        return False
    return not rule.tiers or tier in {t.lower() for t in rule.tiers}


# -- the checks ------------------------------------------------------------------------------------


def _fields(p: Problems, where: str, value: object, allowed: set[str]) -> Mapping[str, Any]:
    data = p.mapping(where, value)
    p.unknown_keys(where, data, allowed, message=EXTRA)
    return data


def _duration_text(p: Problems, where: str, value: object) -> str:
    p.duration(where, value)
    return str(value)


def _named(p: Problems, where: str, value: object, check: Any) -> dict[str, Any]:
    """A non-empty mapping of name -> `check(where.name, entry)`."""
    data = p.mapping(where, value)
    if not data and isinstance(value, Mapping):
        p.add(where, "must not be empty")
    return {str(name): check(f"{where}.{name}", entry) for name, entry in data.items()}


def _team(p: Problems, where: str, value: object) -> Team:
    data = _fields(p, where, value, {"queue", "notify"})
    return Team(
        p.text(f"{where}.queue", data.get("queue")) or "", p.text(f"{where}.notify", data.get("notify")) or ""
    )


def _target(p: Problems, where: str, value: object) -> Target:
    data = _fields(p, where, value, {"first_response", "resolution"})
    return Target(
        *(_duration_text(p, f"{where}.{name}", data.get(name)) for name in ("first_response", "resolution"))
    )


def _customer_value(p: Problems, value: object) -> CustomerValue:
    if value is None:
        return CustomerValue()
    data = _fields(p, "customer_value", value, {"tiers", "vip", "most_valuable", "raise_priority"})
    return CustomerValue(
        tuple(p.strings("customer_value.tiers", data.get("tiers"))),
        p.boolean("customer_value.vip", data.get("vip", True)),
        p.boolean("customer_value.most_valuable", data.get("most_valuable", True)),
        p.integer("customer_value.raise_priority", data.get("raise_priority", 1), low=0, high=3),
    )


def _level(p: Problems, where: str, value: object) -> Level:
    data = _fields(p, where, value, {"level", "after", "notify"})
    return Level(
        p.integer(f"{where}.level", data.get("level"), low=1),
        _duration_text(p, f"{where}.after", data.get("after")),
        p.text(f"{where}.notify", data.get("notify")) or "",
    )


def _sla(p: Problems, value: object) -> Sla:
    data = _fields(p, "sla", value, {"warn_at", "escalation"})
    warn_at = data.get("warn_at")
    if isinstance(warn_at, bool) or not isinstance(warn_at, int | float) or not 0 < warn_at < 1:
        p.add("sla.warn_at", f"must be a number between 0 and 1 (exclusive), got {warn_at!r}")
        warn_at = 0.5
    raw = data.get("escalation")
    if not isinstance(raw, list) or not raw:
        p.add("sla.escalation", "must be a non-empty list of levels")
        raw = []
    levels = tuple(_level(p, f"sla.escalation.{i}", entry) for i, entry in enumerate(raw))
    if [lv.level for lv in levels] != list(range(1, len(levels) + 1)):
        p.add("sla.escalation", "escalation levels must be numbered 1, 2, 3 ... in order")
    try:
        delays = [duration(lv.after) for lv in levels]
    except ValueError:  # already reported at its level
        delays = []
    if delays != sorted(delays):
        p.add("sla.escalation", "escalation levels must come later and later after the breach")
    return Sla(float(warn_at), levels)


def _category(p: Problems, where: str, value: object) -> CategoryRule:
    data = _fields(p, where, value, {"name", "keywords"})
    name = data.get("name")
    if name not in CATEGORIES:
        p.add(f"{where}.name", f"unknown category {name!r}; use one of {', '.join(CATEGORIES)}")
    return CategoryRule(str(name), tuple(p.strings(f"{where}.keywords", data.get("keywords"), required=True)))


def _route(p: Problems, where: str, value: object) -> Route:
    conditions = ("categories", "keywords", "sender_domains", "tiers")
    data = _fields(p, where, value, {"name", "team", "priority", *conditions})
    found = {name: tuple(p.strings(f"{where}.{name}", data.get(name))) for name in conditions}
    if not any(found.values()):
        p.add(where, "a route needs at least one of categories, keywords, sender_domains, tiers")
    unknown = set(found["categories"]) - set(CATEGORIES)
    if unknown:
        p.add(f"{where}.categories", f"unknown categories {sorted(unknown)}")
    team, priority = (p.text(f"{where}.{name}", data.get(name)) or "" for name in ("team", "priority"))
    return Route(p.text(f"{where}.name", data.get("name")) or "", team, priority, **found)


def _listed(p: Problems, where: str, value: object, check: Any) -> tuple[Any, ...]:
    if not isinstance(value, list):
        p.add(where, "must be a list")
        return ()
    return tuple(check(p, f"{where}.{i}", entry) for i, entry in enumerate(value))


def _references(p: Problems, policy: Policy) -> None:
    """Every team, priority and audience a rule names exists; route names are unique."""
    for level in policy.sla.escalation:
        if level.notify != "team" and level.notify not in policy.people:
            p.add(
                f"sla.escalation level {level.level}", f"notify {level.notify!r} is not 'team' nor in people"
            )
    pairs = [(f"routes[{i}] ({r.name})", r.team, r.priority) for i, r in enumerate(policy.routes)]
    for where, team, priority in [
        *pairs,
        ("default_route", policy.default_route.team, policy.default_route.priority),
    ]:
        if team not in policy.teams:
            p.add(where, f"unknown team {team!r} (teams: {', '.join(policy.teams)})")
        if priority not in policy.priorities:
            p.add(where, f"unknown priority {priority!r} (priorities: {', '.join(policy.priorities)})")
    names = [r.name for r in policy.routes]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        p.add("routes", f"duplicate names {duplicates}")


TOP = {
    "version",
    "teams",
    "priorities",
    "customer_value",
    "sla",
    "categories",
    "routes",
    "default_route",
    "people",
}


def validate(data: Mapping[str, Any], source: str = "rules") -> Policy:
    """Check a rule document whole; raises ConfigurationError listing every problem with its place."""
    p = Problems()
    p.unknown_keys("", data, TOP, message=EXTRA)
    if data.get("version") != 1:
        p.add("version", f"must be 1, got {data.get('version')!r}")
    default = _fields(p, "default_route", data.get("default_route"), {"team", "priority"})
    people = p.mapping("people", data.get("people", {}))
    policy = Policy(
        version=1,
        teams=_named(p, "teams", data.get("teams"), lambda where, entry: _team(p, where, entry)),
        priorities=_named(
            p, "priorities", data.get("priorities"), lambda where, entry: _target(p, where, entry)
        ),
        customer_value=_customer_value(p, data.get("customer_value")),
        sla=_sla(p, data.get("sla")),
        categories=_listed(p, "categories", data.get("categories"), _category),
        routes=_listed(p, "routes", data.get("routes"), _route),
        default_route=DefaultRoute(str(default.get("team", "")), str(default.get("priority", ""))),
        people={str(name): str(address) for name, address in people.items()},
    )
    _references(p, policy)
    p.raise_if_any(source)
    return policy
