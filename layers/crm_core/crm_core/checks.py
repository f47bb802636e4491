"""How business-edited files are checked: read as YAML, every problem collected, refused whole.

A leaf module (PyYAML only, imported when a file is read), shared by campaigns.yaml and surveys.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from crm_core.errors import ConfigurationError

_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def duration(text: object) -> timedelta:
    """ "30m", "12h", "2d" as a timedelta; raises ValueError for anything else."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30m, 12h or 2d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class Problems:
    """Collects every problem found, so one run of the check reports them all."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        """Record one problem found at `where`."""
        self.items.append(f"{where}: {message}")

    def unknown_keys(self, where: str, data: Mapping[str, Any], allowed: set[str]) -> None:
        """Record a problem for each key of `data` outside `allowed` (a typo must not pass silently)."""
        for key in sorted(set(data) - allowed):
            self.add(f"{where}.{key}", f"unknown field (expected one of {', '.join(sorted(allowed))})")

    def duration(self, where: str, value: object, default: timedelta | None = None) -> timedelta:
        """The duration at `where`; `default` when it is absent and one is given. A bad value is a
        problem (and the default, or zero, stands in while the rest is checked)."""
        if value is None and default is not None:
            return default
        try:
            return duration(value)
        except ValueError as exc:
            self.add(where, str(exc))
            return default or timedelta(0)

    def boolean(self, where: str, value: object) -> bool:
        """The boolean at `where`; False, and a problem recorded, when it is anything else."""
        if not isinstance(value, bool):
            self.add(where, f"must be true or false, got {value!r}")
            return False
        return value

    def raise_if_any(self, source: str) -> None:
        """Raise ConfigurationError naming every problem, when there is one."""
        if self.items:
            raise ConfigurationError(
                f"{source} has {len(self.items)} problem(s):\n  " + "\n  ".join(self.items)
            )


def read_yaml(path: Path) -> Any:
    """The parsed YAML of `path`; raises ConfigurationError naming the file for a YAML error."""
    import yaml  # noqa: PLC0415 - only the functions that read a business file pay for it

    try:
        with path.open(encoding="utf-8") as stream:
            return yaml.safe_load(stream)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path.name} is not valid YAML: {exc}") from None
