"""Classification, routing and SLA policy as data: `rules.yaml` beside this module, checked whole.

Two ordered lists:
- `categories` put a message in a category by its keywords and phrases (en, it, de, id): the
  category with most keyword hits wins, ties to the one listed first;
- `routes` send a case to a team with a priority, by category, keywords, sender domain and tier:
  the first route whose every condition holds wins, else `default_route`.
Then customer value raises the priority of top-tier and VIP contacts, which shortens the SLA.
`crm` and the local stack check the file before anything uses it (infra/business_files.py); a
mistake raises ConfigurationError naming the place, never misroutes a customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from crm_core.cases.categories import CATEGORIES, normalize_text
from crm_core.cases.policy import Policy, Routing, validate
from crm_core.checks import read_yaml
from crm_core.errors import ConfigurationError

RULES_PATH = Path(__file__).with_name("rules.yaml")

__all__ = [
    "CATEGORIES",
    "RULES_PATH",
    "Routing",
    "classify",
    "get_policy",
    "load_policy",
    "normalize_text",
]


def classify(policy: Policy, text: str) -> str:
    """The category of a message's text (Policy.classify)."""
    return policy.classify(text)


def parse_policy(data: Mapping[str, Any], source: str = "rules") -> Policy:
    """Check a rule document; raises ConfigurationError listing every problem with its place."""
    return validate(data, source)


def load_policy(path: Path) -> Policy:
    """Read and check a YAML rule file; raises ConfigurationError (unreadable, not YAML, invalid)."""
    try:
        data = read_yaml(path)
    except (OSError, ConfigurationError) as exc:
        raise ConfigurationError(f"{path.name}: cannot read it: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{path.name}: expected a mapping at the top level")
    return parse_policy(data, path.name)


@cache
def get_policy() -> Policy:
    """The deployed rule file, loaded once per process."""
    return load_policy(RULES_PATH)
