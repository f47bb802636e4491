"""The rule file's schema (pydantic), imported only when the file is loaded: it costs ~60 ms of import.

`crm_core.cases.rules` holds what uses a loaded policy (classify, route) and loads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crm_core.cases.rules import CATEGORIES, _keyword_pattern, parse_duration
from crm_core.errors import ConfigurationError

Duration = Annotated[str, Field(min_length=2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Team(_Strict):
    """A helpdesk team: the queue its messages go to and who is alerted for it."""

    queue: str = Field(min_length=1)  # the helpdesk queue: `queue` attribute of messages on CaseQueue
    notify: str = Field(
        min_length=1
    )  # who is alerted: the `team` attribute's subscribers on the alerts topic


class Target(_Strict):
    """First-response and resolution targets of one priority, as durations."""

    first_response: Duration
    resolution: Duration

    @field_validator("first_response", "resolution")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class Level(_Strict):
    """One escalation step: who is told, how long after the breach."""

    level: int = Field(ge=1)
    after: Duration  # after the breach
    notify: str = Field(min_length=1)

    @field_validator("after")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class Sla(_Strict):
    """When the warning comes (share of the target) and the escalation levels, in order."""

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
    """Which customers count as valuable (tiers, VIP, top value) and how much it raises priority."""

    tiers: list[str] = Field(default_factory=list)
    vip: bool = True
    most_valuable: bool = True  # the contact's value is in the business's top share (crm_core.value)
    raise_priority: int = Field(default=1, ge=0, le=3)


class CategoryRule(_Strict):
    """The keywords that put a message in one of the known categories."""

    name: str
    keywords: list[str] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r}; use one of {', '.join(CATEGORIES)}")
        return value


class Route(_Strict):
    """A routing rule: messages matching its categories, keywords, domains or tiers go to a team."""

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
    """Where a message that no route matches goes, and at what priority."""

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
    # Escalation audiences beyond the team: name -> address.
    people: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references_exist(self) -> Policy:
        problems = []
        for level in self.sla.escalation:
            if level.notify != "team" and level.notify not in self.people:
                problems.append(
                    f"sla.escalation level {level.level}: notify {level.notify!r} is not 'team' nor in people"
                )
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

    def address_of(self, audience: str, team: str) -> str:
        """Who an alert for `audience` goes to: the case team's address, or a named person's."""
        if audience == "team":
            return (self.teams.get(team) or self.teams[self.default_route.team]).notify
        return self.people[audience]

    def target(self, priority: str) -> tuple[timedelta, timedelta]:
        """First-response and resolution targets of a priority."""
        spec = self.priorities[priority]
        return parse_duration(spec.first_response), parse_duration(spec.resolution)

    def raised(self, priority: str, steps: int) -> str:
        """The priority `steps` more urgent (never past the most urgent)."""
        order = list(self.priorities)
        return order[max(0, order.index(priority) - steps)]


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        lines.append(f"{where}: {problem['msg']}")
    return "; ".join(lines)


def validate(data: Mapping[str, Any], source: str = "rules") -> Policy:
    """Validate a rule document; raises ConfigurationError listing every problem with its place."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError(f"{source}: {_describe(exc)}") from None
