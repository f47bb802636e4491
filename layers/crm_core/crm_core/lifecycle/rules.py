"""Lifecycle rules as data (rules.yaml next to this file), validated once per process."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crm_core.errors import ConfigurationError

RULES_FILE = Path(__file__).with_name("rules.yaml")
STAGES = ("exploration", "awareness", "expansion", "commitment", "dissolution")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Awareness(_Strict):
    """When a contact is aware: the engagements it takes."""

    engagements: int = Field(default=1, ge=1)


class Expansion(_Strict):
    """When a customer expands: the purchases it takes."""

    purchases: int = Field(default=1, ge=1)


class Commitment(_Strict):
    """When a customer is committed: purchases in a window or a tier, and the bonus it earns."""

    purchases_in_window: int = Field(default=3, ge=2)
    window_months: int = Field(default=12, ge=1, le=12)  # counted on the value's monthly buckets
    tiers: list[str] = Field(default_factory=lambda: ["gold", "platinum"])
    bonus_points: int = Field(default=0, ge=0, le=1_000_000)
    bonus_once_per_contact: bool = True


class Dissolution(_Strict):
    """When a customer drifts away: silences, an unsubscribe or a complaint left unresolved."""

    max_silence_days: int = Field(default=90, ge=1)
    usual_interval_factor: float = Field(default=2, gt=0)
    min_silence_days: int = Field(default=30, ge=1)
    unsubscribed: bool = True
    complaint_unresolved_days: int | None = Field(default=14, ge=0)


class Effects(_Strict):
    """What a stage change does: the win-back campaign, and how much history a contact keeps."""

    win_back_campaign: str | None = "win-back"
    history_limit: int = Field(default=50, ge=1, le=200)


class Rules(_Strict):
    """The lifecycle rules of lifecycle.yaml, every part defaulted."""

    version: int = 1
    awareness: Awareness = Awareness()
    expansion: Expansion = Expansion()
    commitment: Commitment = Commitment()
    dissolution: Dissolution = Dissolution()
    effects: Effects = Effects()


def parse_rules(data: Any, source: str = "rules") -> Rules:
    """Validate a rule document; raises ConfigurationError naming every bad field."""
    if not isinstance(data, dict):
        raise ConfigurationError(f"{source}: must be a mapping")
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"{source}: {problems}") from None


@cache
def load_rules() -> Rules:
    """The shipped rules; raises ConfigurationError if the file is broken."""
    import yaml  # noqa: PLC0415 - read once per process

    try:
        data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{RULES_FILE.name}: {exc}") from None
    return parse_rules(data, RULES_FILE.name)
