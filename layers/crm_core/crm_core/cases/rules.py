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
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm_core.errors import ConfigurationError

if TYPE_CHECKING:
    from crm_core.cases.policy import Policy

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
    most_valuable: bool = False,
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
    valued = bool(
        (tier or "").lower() in {t.lower() for t in value.tiers}
        or (value.vip and vip)
        or (value.most_valuable and most_valuable)  # top share by 12-month value (crm_core.value)
    )
    if valued:
        priority = policy.raised(priority, value.raise_priority)
    return Routing(category, team, policy.teams[team].queue, priority, chosen_name, valued)


def parse_policy(data: Mapping[str, Any], source: str = "rules") -> Policy:
    """Validate a rule document; raises ConfigurationError listing every problem with its place."""
    from crm_core.cases.policy import validate  # noqa: PLC0415 - pydantic only when a file is loaded

    return validate(data, source)


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
