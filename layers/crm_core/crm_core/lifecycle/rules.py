"""Lifecycle rules as data (rules.yaml next to this file), checked whole once per process.

Plain dataclasses checked by crm_core.checks (no schema library on the order and lifecycle
functions' cold start); `crm` and the local stack check the file before anything uses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any

from crm_core.checks import Problems, read_yaml
from crm_core.errors import ConfigurationError

RULES_FILE = Path(__file__).with_name("rules.yaml")
STAGES = ("exploration", "awareness", "expansion", "commitment", "dissolution")
EXTRA = "Extra inputs are not permitted"


@dataclass(frozen=True, slots=True)
class Awareness:
    """When a contact is aware: the engagements it takes."""

    engagements: int = 1


@dataclass(frozen=True, slots=True)
class Expansion:
    """When a customer expands: the purchases it takes."""

    purchases: int = 1


@dataclass(frozen=True, slots=True)
class Commitment:
    """When a customer is committed: purchases in a window or a tier, and the bonus it earns."""

    purchases_in_window: int = 3
    window_months: int = 12  # counted on the value's monthly buckets
    tiers: tuple[str, ...] = ("gold", "platinum")
    bonus_points: int = 0
    bonus_once_per_contact: bool = True


@dataclass(frozen=True, slots=True)
class Dissolution:
    """When a customer drifts away: silences, an unsubscribe or a complaint left unresolved."""

    max_silence_days: int = 90
    usual_interval_factor: float = 2
    min_silence_days: int = 30
    unsubscribed: bool = True
    complaint_unresolved_days: int | None = 14


@dataclass(frozen=True, slots=True)
class Effects:
    """What a stage change does: the win-back campaign, and how much history a contact keeps."""

    win_back_campaign: str | None = "win-back"
    history_limit: int = 50


@dataclass(frozen=True, slots=True)
class Rules:
    """The lifecycle rules of lifecycle.yaml, every part defaulted."""

    version: int = 1
    awareness: Awareness = field(default_factory=Awareness)
    expansion: Expansion = field(default_factory=Expansion)
    commitment: Commitment = field(default_factory=Commitment)
    dissolution: Dissolution = field(default_factory=Dissolution)
    effects: Effects = field(default_factory=Effects)


# (low, high) of each bounded number; None: unbounded on that side.
BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "awareness.engagements": (1, None),
    "expansion.purchases": (1, None),
    "commitment.purchases_in_window": (2, None),
    "commitment.window_months": (1, 12),
    "commitment.bonus_points": (0, 1_000_000),
    "dissolution.max_silence_days": (1, None),
    "dissolution.usual_interval_factor": (0, None),  # above 0
    "dissolution.min_silence_days": (1, None),
    "dissolution.complaint_unresolved_days": (0, None),
    "effects.history_limit": (1, 200),
}
SECTIONS: dict[str, type[Any]] = {
    "awareness": Awareness,
    "expansion": Expansion,
    "commitment": Commitment,
    "dissolution": Dissolution,
    "effects": Effects,
}


def _number(p: Problems, where: str, value: object, kind: str) -> object:
    low, high = BOUNDS.get(where, (None, None))
    if kind.startswith("float"):  # only a lower bound, exclusive
        if isinstance(value, bool) or not isinstance(value, int | float):
            p.add(where, f"must be a number, got {value!r}")
            return 0.0
        if low is not None and value <= low:
            p.add(where, f"must be greater than {low}, got {value}")
        return float(value)
    return p.integer(
        where, value, low=None if low is None else int(low), high=None if high is None else int(high)
    )


def _value(p: Problems, where: str, value: object, kind: str) -> object:
    if value is None and "None" in kind:
        return None
    if kind == "bool":
        return p.boolean(where, value)
    if kind.startswith("tuple"):
        return tuple(p.strings(where, value))
    if kind.startswith("str"):
        return p.text(where, value)
    return _number(p, where, value, kind)


def _section(p: Problems, name: str, value: object) -> Any:
    cls = SECTIONS[name]
    data = p.mapping(name, value)
    p.unknown_keys(name, data, {f.name for f in fields(cls)}, message=EXTRA)
    found = {
        f.name: _value(p, f"{name}.{f.name}", data[f.name], str(f.type))
        for f in fields(cls)
        if f.name in data
    }
    return cls(**found)


def parse_rules(data: Any, source: str = "rules") -> Rules:
    """Check a rule document; raises ConfigurationError naming every bad field."""
    if not isinstance(data, dict):
        raise ConfigurationError(f"{source}: must be a mapping")
    p = Problems()
    p.unknown_keys("", data, {"version", *SECTIONS}, message=EXTRA)
    if data.get("version", 1) != 1:
        p.add("version", f"must be 1, got {data.get('version')!r}")
    sections = {name: _section(p, name, data[name]) for name in SECTIONS if data.get(name) is not None}
    p.raise_if_any(source)
    return Rules(**sections)


@cache
def load_rules() -> Rules:
    """The shipped rules; raises ConfigurationError if the file is broken."""
    try:
        data = read_yaml(RULES_FILE)
    except OSError as exc:
        raise ConfigurationError(f"{RULES_FILE.name}: {exc}") from None
    return parse_rules(data, RULES_FILE.name)
