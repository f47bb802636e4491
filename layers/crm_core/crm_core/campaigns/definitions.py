"""Campaign definitions: `campaigns.yaml` read once, checked whole, refused with every problem named.

A broken file must never half-work: `load()` raises ConfigurationError listing each problem as
`campaigns.<name>.steps[<n>].<field>: <what is wrong>`, and the sender sends nothing until fixed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from crm_core.checks import Problems, read_yaml
from crm_core.errors import ConfigurationError
from crm_core.messaging import templates

CAMPAIGNS_FILE = Path(__file__).parent / "campaigns.yaml"
LOCALES = ("en", "it", "de", "id")  # every template of a campaign exists in each of these
EXIT_EVENTS = frozenset({"purchase"})
REPLY_TO = frozenset({"support"})
# Campaigns the code enrolls contacts in: removing one from the file would silently drop them.
REQUIRED = {
    "welcome": "new leads are enrolled in it",
    "post-purchase": "every order enrolls its contact in it",
    "win-back": "every order restarts it",
    "case-survey": "every resolved case enrolls its contact in it",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_TOP_KEYS = {"brand", "recheck_paused_after", "campaigns"}
_CAMPAIGN_KEYS = {"description", "consent_required", "min_gap", "exit_on", "steps"}
_STEP_KEYS = {"name", "after", "template", "marketing", "reply_to", "survey"}
SURVEY_TEMPLATE = "survey"  # the template a survey step uses unless it names another


@dataclass(frozen=True, slots=True)
class Step:
    """One message of a campaign: its template, when it is due after enrollment, and its kind."""

    name: str
    after: timedelta  # from enrollment
    template: str
    marketing: bool
    reply_to: str | None = None  # "support" or None
    survey: str | None = None  # a survey of surveys.yaml: the step asks it (links, limits, counters)


@dataclass(frozen=True, slots=True)
class Campaign:
    """A named sequence of steps with its consent rule, minimum gap and the events that end it."""

    name: str
    description: str
    steps: tuple[Step, ...]
    consent_required: bool
    min_gap: timedelta
    exit_on: frozenset[str] = frozenset()

    def kind(self, step: Step) -> str:
        """The message kind of a step in the sent-message ledger: "<campaign>.<step>"."""
        return f"{self.name}.{step.name}"

    def markets_from(self, index: int) -> bool:
        """True if any step from `index` on is marketing (an unsubscribe ends such an enrollment)."""
        return any(step.marketing for step in self.steps[index:])


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every campaign of campaigns.yaml, checked, with the brand values the templates share."""

    campaigns: Mapping[str, Campaign]
    brand: Mapping[str, str] = field(default_factory=dict)
    recheck_paused_after: timedelta = timedelta(days=1)

    def get(self, name: str) -> Campaign | None:
        """The campaign called `name`, or None when the file has none by that name."""
        return self.campaigns.get(name)


def _check_template(problems: Problems, where: str, name: str, marketing: bool) -> None:
    if not _NAME.match(name) or not (templates.TEMPLATE_DIR / name).is_dir():
        problems.add(where, f"no message template {name!r} in crm_core/messaging/templates")
        return
    missing = [loc for loc in LOCALES if loc not in templates.available_locales(name)]
    if missing:
        problems.add(where, f"template {name!r} lacks {', '.join(missing)} (subject, txt and html each)")
        return
    for loc in LOCALES:
        for part in ("txt", "html"):
            source = (templates.TEMPLATE_DIR / name / f"{loc}.{part}.j2").read_text(encoding="utf-8")
            has_link = "unsubscribe_url" in source
            if marketing and not has_link:
                problems.add(
                    where, f"marketing template {name}/{loc}.{part}.j2 must show {{{{ unsubscribe_url }}}}"
                )
            if not marketing and has_link:
                problems.add(
                    where, f"{name}/{loc}.{part}.j2 uses unsubscribe_url, which only marketing mail has"
                )


def _step(problems: Problems, where: str, data: object) -> Step | None:
    if not isinstance(data, Mapping):
        problems.add(where, "must be a mapping with name, after, template and marketing")
        return None
    problems.unknown_keys(where, data, _STEP_KEYS)
    if "survey" in data:
        return _survey_step(problems, where, data)
    for key in ("name", "after", "template", "marketing"):
        if key not in data:
            problems.add(f"{where}.{key}", "is required")
    name, template = str(data.get("name", "")), str(data.get("template", ""))
    if "name" in data and not _NAME.match(name):
        problems.add(f"{where}.name", f"{name!r} must be lower-case letters, digits and dashes")
    marketing = problems.boolean(f"{where}.marketing", data.get("marketing", False))
    reply_to = data.get("reply_to")
    if reply_to is not None and reply_to not in REPLY_TO:
        problems.add(f"{where}.reply_to", f"{reply_to!r} is not one of {', '.join(sorted(REPLY_TO))}")
    if "template" in data:
        _check_template(problems, f"{where}.template", template, marketing)
    after = problems.duration(f"{where}.after", data.get("after")) if "after" in data else timedelta(0)
    return Step(name, after, template, marketing, str(reply_to) if reply_to else None)


def _survey_step(problems: Problems, where: str, data: Mapping[str, Any]) -> Step | None:
    """A step that asks a survey: its delay defaults to the survey's, it is never marketing."""
    from crm_core.surveys import definitions as surveys  # noqa: PLC0415 - only survey steps need it

    name, survey_name = str(data.get("name", "")), str(data.get("survey"))
    if not _NAME.match(name):
        problems.add(f"{where}.name", f"{name!r} must be lower-case letters, digits and dashes")
    survey = surveys.load().get(survey_name)
    if survey is None:
        problems.add(f"{where}.survey", f"{survey_name!r} is not a survey of surveys.yaml")
    if data.get("marketing", False) is not False:
        problems.add(f"{where}.marketing", "a survey is a service message: marketing must be false")
    template = str(data.get("template", SURVEY_TEMPLATE))
    _check_template(problems, f"{where}.template", template, marketing=False)
    if "after" in data:
        after = problems.duration(f"{where}.after", data.get("after"))
    else:
        after = survey.delay if survey is not None else timedelta(0)
    reply_to = data.get("reply_to")
    if reply_to is not None and reply_to not in REPLY_TO:
        problems.add(f"{where}.reply_to", f"{reply_to!r} is not one of {', '.join(sorted(REPLY_TO))}")
    return Step(name, after, template, False, str(reply_to) if reply_to else None, survey_name)


def _check_sequence(problems: Problems, where: str, steps: list[Step]) -> None:
    """Step names are unique and steps come in the order of their delays."""
    seen: set[str] = set()
    for i, step in enumerate(steps):
        if step.name in seen:
            problems.add(f"{where}.steps[{i}].name", f"{step.name!r} is used by an earlier step")
        seen.add(step.name)
        if i and step.after < steps[i - 1].after:
            problems.add(
                f"{where}.steps[{i}].after", "steps must be in order: after is earlier than the step before"
            )


def _exit_on(problems: Problems, where: str, exit_on: object) -> list[Any]:
    if not isinstance(exit_on, list) or not set(exit_on) <= EXIT_EVENTS:
        problems.add(
            f"{where}.exit_on", f"must be a list of {', '.join(sorted(EXIT_EVENTS))}, got {exit_on!r}"
        )
        return []
    return exit_on


def _campaign(problems: Problems, name: str, data: object) -> Campaign | None:
    where = f"campaigns.{name}"
    if not _NAME.match(name):
        problems.add(where, "a campaign name must be lower-case letters, digits and dashes")
    if not isinstance(data, Mapping):
        problems.add(where, "must be a mapping with steps")
        return None
    problems.unknown_keys(where, data, _CAMPAIGN_KEYS)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        problems.add(f"{where}.steps", "must be a non-empty list of steps")
        raw_steps = []
    steps = [s for i, raw in enumerate(raw_steps) if (s := _step(problems, f"{where}.steps[{i}]", raw))]
    _check_sequence(problems, where, steps)
    exit_on = _exit_on(problems, where, data.get("exit_on", []))
    min_gap = problems.duration(f"{where}.min_gap", data.get("min_gap"), default=timedelta(hours=12))
    if min_gap <= timedelta(0):
        problems.add(f"{where}.min_gap", "must be longer than zero (at least 1m)")
    return Campaign(
        name=name,
        description=str(data.get("description", "")),
        steps=tuple(steps),
        consent_required=problems.boolean(f"{where}.consent_required", data.get("consent_required")),
        min_gap=min_gap,
        exit_on=frozenset(str(e) for e in exit_on),
    )


def _brand(problems: Problems, brand: object) -> dict[str, str]:
    if not isinstance(brand, Mapping) or not all(isinstance(v, str) for v in brand.values()):
        problems.add("brand", "must map names (name, website) to text")
        return {}
    return {str(k): str(v) for k, v in brand.items()}


def parse(data: object, source: str = "campaigns.yaml") -> Catalog:
    """A checked catalog from the file's parsed content; raises ConfigurationError listing every problem."""
    problems = Problems()
    if not isinstance(data, Mapping) or not isinstance(data.get("campaigns"), Mapping):
        raise ConfigurationError(f"{source}: must be a mapping with a 'campaigns' mapping")
    problems.unknown_keys("(top)", data, _TOP_KEYS)
    brand = _brand(problems, data.get("brand", {}))
    recheck = problems.duration("recheck_paused_after", data.get("recheck_paused_after"), timedelta(days=1))
    campaigns = {
        str(name): c for name, raw in data["campaigns"].items() if (c := _campaign(problems, str(name), raw))
    }
    for name, why in REQUIRED.items():
        if name not in data["campaigns"]:
            problems.add(f"campaigns.{name}", f"is required: {why}")
    problems.raise_if_any(source)
    return Catalog(campaigns=campaigns, brand=brand, recheck_paused_after=recheck)


def load_file(path: Path) -> Catalog:
    """Read and check a campaigns file; raises ConfigurationError for a YAML error or any problem."""
    return parse(read_yaml(path), path.name)


@cache
def brand() -> dict[str, str]:
    """The shipped `brand:` (name, website) alone: every message shows it, campaign or not.

    Raises ConfigurationError when the file or its `brand:` is malformed."""
    data = read_yaml(CAMPAIGNS_FILE)
    problems = Problems()
    found = _brand(problems, data.get("brand", {}) if isinstance(data, Mapping) else {})
    if problems.items:
        raise ConfigurationError(f"{CAMPAIGNS_FILE.name}: " + "; ".join(problems.items))
    return found


@cache
def load() -> Catalog:
    """The shipped campaigns (read and checked once per process); raises ConfigurationError."""
    return load_file(CAMPAIGNS_FILE)
