"""The files a business user edits (campaigns; case, loyalty and lifecycle rules; page wording), checked.

The local stack checks them before it says "Ready", and `crm` before a command that uses them, so
a broken file is refused at once with the message its loader writes, not found later inside a
traceback when a function first reads it. A new business-edited file gets one line in `CHECKS`.
"""

from __future__ import annotations

from collections.abc import Callable

from crm_core.errors import ConfigurationError


def _campaigns() -> None:
    from crm_core.campaigns import definitions

    definitions.load_file(definitions.CAMPAIGNS_FILE)


def _case_rules() -> None:
    from crm_core.cases import rules

    rules.load_policy(rules.RULES_PATH)


def _loyalty_rules() -> None:
    from crm_core.loyalty import rules

    rules.load_rulebook()


def _lifecycle_rules() -> None:
    from crm_core.checks import read_yaml
    from crm_core.lifecycle import rules

    rules.parse_rules(read_yaml(rules.RULES_FILE), rules.RULES_FILE.name)  # the file as it is now


def _page_strings() -> None:
    """pages/strings.yaml: each language maps the same keys to text (the pages fill in {brand} etc.)."""
    from crm_core.campaigns.unsubscribe import PAGES_DIR
    from crm_core.checks import Problems, read_yaml

    path = PAGES_DIR / "strings.yaml"
    data = read_yaml(path)
    if not isinstance(data, dict) or not data:
        raise ConfigurationError(f"{path.name}: expected languages (en:, it:, ...) at the top level")
    problems = Problems()
    first, *others = data
    for locale, words in data.items():
        if not isinstance(words, dict) or not all(isinstance(v, str) for v in words.values()):
            problems.add(str(locale), "must map each key to text")
    if not problems.errors:
        wanted = set(data[first])
        for locale in others:
            missing = sorted(wanted - set(data[locale]))
            if missing:
                problems.add(str(locale), f"missing {', '.join(missing)} (which {first} has)")
    problems.raise_if_any(path.name)


CHECKS: dict[str, Callable[[], None]] = {
    "campaigns.yaml": _campaigns,
    "cases/rules.yaml": _case_rules,
    "loyalty/earning_rules": _loyalty_rules,
    "lifecycle/rules.yaml": _lifecycle_rules,
    "campaigns/pages/strings.yaml": _page_strings,
}


def problems() -> list[str]:
    """The message of every business file that does not load (empty when all are good)."""
    found = []
    for check in CHECKS.values():
        try:
            check()
        except ConfigurationError as exc:
            found.append(str(exc))
    return found


def check() -> None:
    """Raises ConfigurationError naming every problem of every business-edited file."""
    found = problems()
    if found:
        raise ConfigurationError("\n".join(found))
