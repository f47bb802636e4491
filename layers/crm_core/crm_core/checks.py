"""How business-edited files and inputs are checked: every problem collected, refused whole.

A leaf module (PyYAML only in the source tree, imported when a file is read), shared by the business files
(campaigns.yaml, surveys.yaml, the case and lifecycle rules) and by the inputs read on hot paths
(order events, request bodies): plain checks, no schema library on a function's import path.
A file's problems raise ConfigurationError; an input's raise ValidationFailed, one FieldError each.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from crm_core.errors import ConfigurationError, FieldError, ValidationFailed

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
        self.errors: list[FieldError] = []

    @property
    def items(self) -> list[str]:
        """Each problem as "where: message"."""
        return [f"{e.field}: {e.message}" for e in self.errors]

    def add(self, where: str, message: str) -> None:
        """Record one problem found at `where` (the file itself when empty)."""
        self.errors.append(FieldError(where or "(file)", message))

    def mapping(self, where: str, value: object) -> Mapping[str, Any]:
        """`value` when it is a mapping; else a problem and an empty one."""
        if isinstance(value, Mapping):
            return value
        self.add(where, "must be a mapping")
        return {}

    def text(
        self,
        where: str,
        value: object,
        *,
        required: bool = True,
        max_length: int = 0,
        pattern: re.Pattern[str] | None = None,
        hint: str = "",
    ) -> str | None:
        """A stripped, non-empty string of at most `max_length` characters (0: any) matching `pattern`
        (`hint` says what it should look like); None when absent and not `required`."""
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(where, "is required" if value is None else "must be a non-empty string")
            return None
        text = value.strip()
        if max_length and len(text) > max_length:
            self.add(where, f"must be at most {max_length} characters")
        elif pattern is not None and not pattern.match(text):
            self.add(where, f"must be {hint or 'like ' + pattern.pattern}")
        return text

    def integer(self, where: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
        """A whole number (not a bool, a float or a string) within [low, high]."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(where, "is required" if value is None else f"must be a whole number, got {value!r}")
            return low or 0
        if (low is not None and value < low) or (high is not None and value > high):
            self.add(where, f"must be {_bounds(low, high)}, got {value}")
        return value

    def strings(self, where: str, value: object, *, required: bool = False) -> list[str]:
        """A list of non-empty strings (absent: empty, or a problem when `required`)."""
        if value is None and not required:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.add(where, "must be a list of non-empty strings")
            return []
        if required and not value:
            self.add(where, "must not be empty")
        return list(value)

    def unknown_keys(
        self, where: str, data: Mapping[str, Any], allowed: set[str], *, message: str = ""
    ) -> None:
        """A problem for each key of `data` not in `allowed` (a typo must not be ignored in silence)."""
        wording = message or f"unknown field (expected one of {', '.join(sorted(allowed))})"
        for key in sorted(set(map(str, data)) - allowed):
            self.add(f"{where}.{key}" if where else key, wording)

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
        if self.errors:
            items = self.items
            raise ConfigurationError(f"{source} has {len(items)} problem(s):\n  " + "\n  ".join(items))

    def raise_invalid(self) -> None:
        """Raise ValidationFailed with every problem as a FieldError, when there is one."""
        if self.errors:
            raise ValidationFailed(list(self.errors))


def _bounds(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f"at least {low}" if low is not None else f"at most {high}"


def read_yaml(path: Path) -> Any:
    """The data of the business file `path` (a YAML file); raises ConfigurationError naming the file.

    `make build` checks every YAML file of the layer and replaces it with the same data as JSON
    (`infra/build.py`), so a deployed function reads that with the standard library's json, which
    boto3 has imported already, and never imports PyYAML. The source tree (tests, the local stack)
    has only the YAML, read with libyaml when it is installed (~8x faster than pure Python).
    """
    built = path.with_suffix(".json")
    if not path.exists() and built.exists():
        with built.open(encoding="utf-8") as stream:
            return json.load(stream)
    import yaml  # noqa: PLC0415 - the source tree only: a built layer has the JSON form

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with path.open(encoding="utf-8") as stream:
            return yaml.load(stream, Loader=loader)  # noqa: S506 - a safe loader, C or pure Python
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path.name} is not valid YAML: {exc}") from None
