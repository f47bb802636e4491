"""The files a business user edits (campaigns; case, loyalty and lifecycle rules; page wording), checked.

The local stack checks them before it says "Ready", and `crm` before a command that uses them, so
a broken file is refused at once with the message its loader writes, not found later inside a
traceback when a function first reads it. A new business-edited file gets one line in `CHECKS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

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


def write_json(package: Path) -> list[Path]:
    """Replace every YAML file under `package` (a built layer's crm_core) with its data as JSON.

    A deployed function then reads its business files with the standard library's json, which
    boto3 has imported already, instead of importing PyYAML (its import compiles ~40 regular
    expressions) and parsing YAML at cold start: `crm_core.checks.read_yaml` takes the `.json`
    when the `.yaml` is gone. Run after `check()`, so only files that load are converted. Raises
    ConfigurationError for data JSON cannot carry unchanged (an unquoted date, a number as a key).
    """
    from crm_core.checks import read_yaml

    written = []
    for source in sorted(package.rglob("*.yaml")):
        data = read_yaml(source)  # the loaders' own reading (libyaml, errors naming the file)
        try:
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        except TypeError as exc:
            raise ConfigurationError(f"{source.name}: {exc}; quote the value") from None
        if json.loads(text) != data:
            raise ConfigurationError(f"{source.name}: keys must be text (quote numbers used as keys)")
        target = source.with_suffix(".json")
        target.write_text(text, encoding="utf-8")
        source.unlink()
        written.append(target)
    return written
