"""Survey definitions: `surveys.yaml` read once, checked whole, refused with every problem named.

A broken file raises ConfigurationError listing each problem as `surveys.<name>.<field>: <what>`,
like campaigns.yaml: no survey is sent and no answer is scored until it is fixed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

from crm_core.checks import Problems, read_yaml
from crm_core.errors import ConfigurationError

SURVEYS_FILE = Path(__file__).parent / "surveys.yaml"
TRIGGERS = ("purchase", "case-resolved")
SCALES = {"csat": (1, 5), "nps": (0, 10)}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_LOCALE = re.compile(r"^[a-z]{2}$")
_TOP_KEYS = {"link_valid_for", "contact_gap", "surveys"}
_SURVEY_KEYS = {"trigger", "scale", "delay", "low_at_or_below", "invite_review_at_or_above", "question"}


@dataclass(frozen=True, slots=True)
class Survey:
    """A survey of surveys.yaml: what triggers it, its scale, its question and thresholds."""

    name: str
    trigger: str  # "purchase" | "case-resolved"
    scale: str  # "csat" | "nps"
    delay: timedelta
    low_at_or_below: int
    question: Mapping[str, str]  # locale -> text; "en" always present
    invite_review_at_or_above: int | None = None

    @property
    def scores(self) -> range:
        """The scores the survey's scale allows."""
        low, high = SCALES[self.scale]
        return range(low, high + 1)

    def is_low(self, score: int) -> bool:
        """True when `score` counts as a complaint and opens a case."""
        return score <= self.low_at_or_below

    def invites_review(self, score: int) -> bool:
        """True when `score` is high enough to invite a public review."""
        return self.invite_review_at_or_above is not None and score >= self.invite_review_at_or_above

    def question_in(self, locale: str) -> str:
        """The question in `locale`, else in English."""
        return self.question.get(locale) or self.question["en"]


@dataclass(frozen=True, slots=True)
class SurveyCatalog:
    """Every survey of surveys.yaml, checked, with the link lifetime and the gap between surveys."""

    surveys: Mapping[str, Survey]
    link_valid_for: timedelta = timedelta(days=30)
    contact_gap: timedelta = timedelta(days=14)

    def get(self, name: str) -> Survey | None:
        """The survey called `name`, or None."""
        return self.surveys.get(name)


def _score(problems: Problems, where: str, value: object, scale: str) -> int | None:
    low, high = SCALES.get(scale, (0, 10))
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.add(where, f"must be a whole score from {low} to {high}, got {value!r}")
        return None
    return value


def _question(problems: Problems, where: str, value: object) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value:
        problems.add(where, "must map languages (en, it, de, id) to the question")
        return {"en": ""}
    found: dict[str, str] = {}
    for locale, text in value.items():
        if not _LOCALE.match(str(locale)):
            problems.add(f"{where}.{locale}", "must be a two-letter language code such as en")
        elif not isinstance(text, str) or not text.strip():
            problems.add(f"{where}.{locale}", "must be the question's text")
        else:
            found[str(locale)] = text.strip()
    if "en" not in value:
        problems.add(f"{where}.en", "is required (the fallback for every other language)")
    return found or {"en": ""}


def _review(problems: Problems, where: str, value: object, scale: str, low: int | None) -> int | None:
    """The optional score from which a review is invited: a score above the low one."""
    if value is None:
        return None
    review = _score(problems, f"{where}.invite_review_at_or_above", value, scale)
    if review is not None and low is not None and review <= low:
        problems.add(f"{where}.invite_review_at_or_above", "must be above low_at_or_below")
    return review


def _survey(problems: Problems, name: str, data: object) -> Survey | None:
    where = f"surveys.{name}"
    if not _NAME.match(name):
        problems.add(where, "a survey name must be lower-case letters, digits and dashes")
    if not isinstance(data, Mapping):
        problems.add(where, "must be a mapping with trigger, scale, delay, low_at_or_below and question")
        return None
    problems.unknown_keys(where, data, _SURVEY_KEYS)
    for key in ("trigger", "scale", "delay", "low_at_or_below", "question"):
        if key not in data:
            problems.add(f"{where}.{key}", "is required")
    trigger, scale = str(data.get("trigger", "")), str(data.get("scale", ""))
    if "trigger" in data and trigger not in TRIGGERS:
        problems.add(f"{where}.trigger", f"{trigger!r} is not one of {', '.join(TRIGGERS)}")
    if "scale" in data and scale not in SCALES:
        problems.add(f"{where}.scale", f"{scale!r} is not one of {', '.join(SCALES)}")
    delay = problems.duration(f"{where}.delay", data.get("delay"), timedelta(0))
    low = _score(problems, f"{where}.low_at_or_below", data.get("low_at_or_below"), scale)
    review = _review(problems, where, data.get("invite_review_at_or_above"), scale, low)
    question = _question(problems, f"{where}.question", data.get("question"))
    return Survey(name, trigger, scale, delay, low if low is not None else 0, question, review)


def parse(data: object, source: str = "surveys.yaml") -> SurveyCatalog:
    """A checked catalog from the file's parsed content; raises ConfigurationError listing every problem."""
    if not isinstance(data, Mapping) or not isinstance(data.get("surveys"), Mapping):
        raise ConfigurationError(f"{source}: must be a mapping with a 'surveys' mapping")
    problems = Problems()
    problems.unknown_keys("(top)", data, _TOP_KEYS)
    valid_for = problems.duration("link_valid_for", data.get("link_valid_for"), timedelta(days=30))
    gap = problems.duration("contact_gap", data.get("contact_gap"), timedelta(days=14))
    surveys: dict[str, Survey] = {
        str(name): s for name, raw in data["surveys"].items() if (s := _survey(problems, str(name), raw))
    }
    problems.raise_if_any(source)
    return SurveyCatalog(surveys=surveys, link_valid_for=valid_for, contact_gap=gap)


def load_file(path: Path) -> SurveyCatalog:
    """Read and check a surveys file; raises ConfigurationError for a YAML error or any problem."""
    return parse(read_yaml(path), path.name)


@cache
def load() -> SurveyCatalog:
    """The shipped surveys (read and checked once per process); raises ConfigurationError."""
    return load_file(SURVEYS_FILE)
