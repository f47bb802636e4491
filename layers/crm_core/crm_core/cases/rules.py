"""Classification, routing and SLA policy as data: `rules.yaml` beside this module, validated at load.

Two ordered lists:
- `categories` put a message in a category by its keywords and phrases (en, it, de, id): the
  category with most keyword hits wins, ties to the one listed first;
- `routes` send a case to a team with a priority, by category, keywords, sender domain and tier:
  the first route whose every condition holds wins, else `default_route`.
Then customer value raises the priority of top-tier and VIP contacts, which shortens the SLA.
A mistake in the file raises ConfigurationError naming the place, at cold start, not on a customer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crm_core.errors import ConfigurationError

RULES_PATH = Path(__file__).with_name("rules.yaml")
CATEGORIES = ("billing", "delivery", "product_quality", "service", "account_privacy", "other")
_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """ "90m", "4h", "2d" -> timedelta; raises ValueError otherwise."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30m, 4h or 2d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


Duration = Annotated[str, Field(min_length=2)]


def normalize_text(text: str) -> str:
    """Case-folded, accent-free, single-spaced: "Rückerstattung  GEWÜNSCHT" -> "ruckerstattung gewunscht"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


def _keyword_pattern(keywords: list[str]) -> re.Pattern[str] | None:
    """One regex for a list of words/phrases; a trailing `*` matches any ending ("rimbors*")."""
    parts = []
    for keyword in keywords:
        word = normalize_text(keyword)
        prefix = word.endswith("*")
        body = re.escape(word.rstrip("*").strip()).replace(r"\ ", r"\s+")
        parts.append(body + (r"\w*" if prefix else ""))
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(sorted(parts, key=len, reverse=True)) + r")(?!\w)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Team(_Strict):
    queue: str = Field(min_length=1)  # the helpdesk queue: `queue` attribute of messages on CaseQueue
    notify: str = Field(
        min_length=1
    )  # who is alerted: the `team` attribute's subscribers on the alerts topic


class Target(_Strict):
    first_response: Duration
    resolution: Duration

    @field_validator("first_response", "resolution")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class Level(_Strict):
    level: int = Field(ge=1)
    after: Duration  # after the breach
    notify: str = Field(min_length=1)

    @field_validator("after")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class Sla(_Strict):
    warn_at: float = Field(gt=0, lt=1)
    escalation: list[Level] = Field(min_length=1)

    @model_validator(mode="after")
    def _levels_in_order(self) -> Sla:
        levels = [lv.level for lv in self.escalation]
        if levels != list(range(1, len(levels) + 1)):
            raise ValueError("escalation levels must be numbered 1, 2, 3 ... in order")
        delays = [parse_duration(lv.after) for lv in self.escalation]
        if delays != sorted(delays):
            raise ValueError("escalation levels must come later and later after the breach")
        return self


class CustomerValue(_Strict):
    tiers: list[str] = Field(default_factory=list)
    vip: bool = True
    raise_priority: int = Field(default=1, ge=0, le=3)


class CategoryRule(_Strict):
    name: str
    keywords: list[str] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r}; use one of {', '.join(CATEGORIES)}")
        return value


class Route(_Strict):
    name: str = Field(min_length=1)
    team: str
    priority: str
    categories: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    sender_domains: list[str] = Field(default_factory=list)
    tiers: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_a_condition(self) -> Route:
        if not (self.categories or self.keywords or self.sender_domains or self.tiers):
            raise ValueError("a route needs at least one of categories, keywords, sender_domains, tiers")
        unknown = set(self.categories) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown categories {sorted(unknown)}")
        return self


class DefaultRoute(_Strict):
    team: str
    priority: str


class Policy(_Strict):
    """The whole rule file."""

    version: int = Field(ge=1, le=1)
    teams: dict[str, Team] = Field(min_length=1)
    priorities: dict[str, Target] = Field(min_length=1)  # most urgent first
    customer_value: CustomerValue = CustomerValue()
    sla: Sla
    categories: list[CategoryRule]
    routes: list[Route]
    default_route: DefaultRoute

    @model_validator(mode="after")
    def _references_exist(self) -> Policy:
        problems = []
        for where, team, priority in [
            *((f"routes[{i}] ({r.name})", r.team, r.priority) for i, r in enumerate(self.routes)),
            ("default_route", self.default_route.team, self.default_route.priority),
        ]:
            if team not in self.teams:
                problems.append(f"{where}: unknown team {team!r} (teams: {', '.join(self.teams)})")
            if priority not in self.priorities:
                problems.append(
                    f"{where}: unknown priority {priority!r} (priorities: {', '.join(self.priorities)})"
                )
        names = [r.name for r in self.routes]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append(f"routes: duplicate names {duplicates}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @cached_property
    def _category_patterns(self) -> list[tuple[str, re.Pattern[str]]]:
        return [(c.name, p) for c in self.categories if (p := _keyword_pattern(c.keywords))]

    @cached_property
    def _route_patterns(self) -> list[re.Pattern[str] | None]:
        return [_keyword_pattern(r.keywords) for r in self.routes]

    def target(self, priority: str) -> tuple[timedelta, timedelta]:
        """First-response and resolution targets of a priority."""
        spec = self.priorities[priority]
        return parse_duration(spec.first_response), parse_duration(spec.resolution)

    def raised(self, priority: str, steps: int) -> str:
        """The priority `steps` more urgent (never past the most urgent)."""
        order = list(self.priorities)
        return order[max(0, order.index(priority) - steps)]


@dataclass(frozen=True, slots=True)
class Routing:
    """Where a case goes and how urgent it is."""

    category: str
    team: str
    queue: str
    priority: str
    rule: str
    valued_customer: bool


def classify(policy: Policy, text: str) -> str:
    """The category of a message's text (subject and body): the one whose keywords occur most often.

    Ties go to the category listed first; a text matching none is "other". ("The parcel arrived
    broken, the glass is cracked" is product quality: two hits against one for delivery.)
    """
    normalized = normalize_text(text)
    best, best_hits = "other", 0
    for name, pattern in policy._category_patterns:
        hits = len(pattern.findall(normalized))
        if hits > best_hits:
            best, best_hits = name, hits
    return best


def route(
    policy: Policy,
    *,
    text: str,
    sender: str,
    tier: str | None = None,
    vip: bool = False,
) -> Routing:
    """Classify and route a message; the first route whose every condition holds wins, else the default."""
    normalized = normalize_text(text)
    category = classify(policy, text)
    domain = sender.rpartition("@")[2].lower()
    chosen_name, team, priority = "default", policy.default_route.team, policy.default_route.priority
    for rule, pattern in zip(policy.routes, policy._route_patterns, strict=True):
        if rule.categories and category not in rule.categories:
            continue
        if pattern is not None and not pattern.search(normalized):
            continue
        if rule.sender_domains and not any(
            domain == d.lower() or domain.endswith("." + d.lower()) for d in rule.sender_domains
        ):
            continue
        if rule.tiers and (tier or "").lower() not in {t.lower() for t in rule.tiers}:
            continue
        chosen_name, team, priority = rule.name, rule.team, rule.priority
        break
    value = policy.customer_value
    valued = bool((tier or "").lower() in {t.lower() for t in value.tiers} or (value.vip and vip))
    if valued:
        priority = policy.raised(priority, value.raise_priority)
    return Routing(category, team, policy.teams[team].queue, priority, chosen_name, valued)


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        lines.append(f"{where}: {problem['msg']}")
    return "; ".join(lines)


def parse_policy(data: Mapping[str, Any], source: str = "rules") -> Policy:
    """Validate a rule document; raises ConfigurationError listing every problem with its place."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError(f"{source}: {_describe(exc)}") from None


def load_policy(path: Path) -> Policy:
    """Read and validate a YAML rule file; raises ConfigurationError (unreadable, not YAML, invalid)."""
    import yaml  # noqa: PLC0415 - only the functions that route cases pay for it

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path.name}: cannot read it: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{path.name}: expected a mapping at the top level")
    return parse_policy(data, path.name)


@cache
def get_policy() -> Policy:
    """The deployed rule file, loaded once per process."""
    return load_policy(RULES_PATH)
