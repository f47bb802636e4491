"""Benchmark rows for `make bench`: each bench records its figure beside a baseline measured in the same run.

    from tests.perf.harness import record
    record("leads", "POST /leads p50", 12.5, baseline=9.8, unit="ms", target="<= 2.0")

The ratio is value / baseline; a target like "<= 2.0" is checked against the ratio when there is a
baseline, else against the value. tests/perf/conftest.py prints every row in one table at the end.
"""

from __future__ import annotations

import operator
import statistics
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass

_COMPARE = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq}


@dataclass(frozen=True)
class Row:
    section: str
    metric: str
    value: float | None
    baseline: float | None = None
    unit: str = ""
    target: str = ""

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
            raise ValueError(f"target must look like '<= 2.0', not {self.target!r}")
        measured = self.ratio if self.ratio is not None else self.value
        return bool(_COMPARE[symbol](measured, float(number)))


# One list for the whole run, however this module was imported (tests.perf.harness or harness).
_shared = sys.modules.setdefault("_crm_bench_rows", types.ModuleType("_crm_bench_rows"))
ROWS: list[Row] = _shared.__dict__.setdefault("rows", [])


def record(  # noqa: PLR0917 - the signature every bench was promised
    section: str,
    metric: str,
    value: float | None,
    baseline: float | None = None,
    unit: str = "",
    target: str = "",
) -> Row:
    """Add one row to the table `make bench` prints; returns it (tests may assert `row.passed`)."""
    row = Row(section, metric, value, baseline, unit, target)
    if target:
        row.passed  # noqa: B018 - validates the target's form now, not when the table is printed
    ROWS.append(row)
    return row


def median_seconds(action: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of `action` over `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def table(rows: list[Row]) -> str:
    """The rows as one aligned text table."""
    header = ("section", "metric", "value", "baseline", "ratio", "target", "result")
    lines = [header]
    for row in rows:
        result = {True: "pass", False: "FAIL", None: "-"}[row.passed]
        lines.append(
            (
                row.section,
                row.metric,
                _number(row.value, row.unit),
                _number(row.baseline, row.unit),
                "-" if row.ratio is None else f"{row.ratio:.2f}",
                row.target or "-",
                result,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]
    out.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(out)


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text} {unit}".strip()
