"""One row of a bench table (value beside its baseline and target) and the tables as text or Markdown."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

_COMPARE = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq}


@dataclass(frozen=True)
class Row:
    metric: str
    value: float | None
    baseline: float | None = None
    unit: str = ""
    target: str = ""  # "<= 1.5": checked against the ratio when there is a baseline, else the value
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def passed(self) -> bool | None:
        """True/False against the target; None when there is no target (or nothing measured)."""
        if not self.target or self.value is None:
            return None
        symbol, _, number = self.target.strip().partition(" ")
        if symbol not in _COMPARE:
            raise ValueError(f"target must look like '<= 1.5', not {self.target!r}")
        measured = self.ratio if self.ratio is not None else self.value
        return bool(_COMPARE[symbol](round(measured, 2), float(number)))

    def cells(self) -> tuple[str, ...]:
        return (
            self.metric,
            number(self.value, self.unit),
            number(self.baseline, self.unit),
            "-" if self.ratio is None else f"{self.ratio:.2f}",
            self.target or "-",
            {True: "pass", False: "FAIL", None: "-"}[self.passed],
            self.note,
        )


HEADER = ("metric", "value", "baseline", "ratio", "target", "result", "note")


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} {unit}".strip()


def text_table(header: tuple[str, ...], lines: Sequence[tuple[str, ...]]) -> str:
    """Aligned columns for a terminal; empty trailing columns are dropped."""
    every = [header, *lines]
    widths = [max(len(line[i]) for line in every) for i in range(len(header))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in every]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def markdown_table(header: tuple[str, ...], lines: Sequence[tuple[str, ...]]) -> str:
    def row(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([row(header), "|" + "---|" * len(header), *(row(line) for line in lines)])
