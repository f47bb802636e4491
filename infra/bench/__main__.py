"""`python -m infra.bench [--strict] [--rounds N] [--no-write]`: the three tables of `make bench`.

Prints cold start (import, and import + first event, beside boto3 doing the same calls), AWS calls
per operation beside the data model's minimum, and the monthly bill; writes them to
docs/benchmarks.md, and their short form to the README's figures block (infra/bench/readme.py).
Exit status 0 whatever the figures, unless `--strict` and a row misses its target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.bench import bill as billing
from infra.bench import coldstart, readme
from infra.bench.operations import Scenario, play
from infra.bench.rows import HEADER, Row, markdown_table, text_table
from infra.build import layer_size
from infra.template import ROOT

DOC = ROOT / "docs" / "benchmarks.md"
README = ROOT / "README.md"
ROUNDS = 15


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 when a row misses its target")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"cold-start rounds (default {ROUNDS})")
    parser.add_argument("--profile", metavar="FUNCTION", help="also cProfile one function's cold start")
    parser.add_argument("--no-write", action="store_true", help="print only; leave the docs and README alone")
    parser.add_argument(
        "--no-throughput", action="store_true", help="skip tests/perf (throughput and scaling against moto)"
    )
    parser.add_argument(
        "--source-tree",
        action="store_true",
        help="measure cold start on the source tree, not make build's output",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    say = _stderr
    where = coldstart.target(args.source_tree)
    measured_on = where.describe()
    say(f"Cold start is measured on {measured_on}.")
    if where.build is not None and (changed := coldstart.stale(where.build)):
        say(f"  The build is older than {len(changed)} source file(s) ({changed[0]}, ...): run make build.")
    say("Playing every operation through a local stack, counting AWS calls on the wire...")
    samples: dict[str, coldstart.Sample] = {}

    def cold_start(stack: Any, scenario: Scenario) -> None:
        say(f"Cold start: {args.rounds} interleaved rounds of fresh processes per function...")
        samples.update(
            coldstart.measure(
                stack.runtime,
                scenario.events,
                stack.moto_url,
                args.rounds,
                say,
                args.profile,
                where,
                instants=scenario.instants,
            )
        )

    scenario = play(cold_start)
    cold_rows = coldstart.rows(samples)
    init = {f: statistics.median(s.handler_first) for f, s in samples.items()}
    sections = {
        "Cold start": _cold_table(cold_rows, measured_on, _layer_line()),
        "AWS calls per operation": _calls_table(scenario),
        "Monthly bill": _bill_table(scenario, init),
    }
    broken = False
    if not args.no_throughput:
        say("Throughput and scaling benches (tests/perf, pytest)...")
        throughput, broken = _throughput()
        sections["Throughput and scaling against moto"] = throughput
    missed = _report(sections, cold_rows, started)
    if not args.no_write:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(_document({t: md for t, (_, md) in sections.items()}, args.rounds, measured_on))
        readme.write(README, readme.block(cold_rows, scenario.measured, _bills(scenario, init)))
        print(f"Wrote {DOC.relative_to(ROOT)} and the figures of {README.relative_to(ROOT)}.")
    if broken:
        print("A throughput bench itself failed (see pytest's output above): that is a bug, not noise.")
    return 1 if broken or (args.strict and missed) else 0


def _report(sections: dict[str, tuple[str, str]], cold_rows: list[Row], started: float) -> list[Row]:
    """Print every table and a one-line summary; the cold-start rows over their target."""
    for title, (text, _) in sections.items():
        print(f"\n== {title} ==\n{text}")
    missed = [row for row in cold_rows if row.passed is False]
    verdict = (
        f"{len(missed)} over target: {', '.join(r.metric for r in missed)}" if missed else "all within target"
    )
    took = time.perf_counter() - started
    print(f"\n{len(cold_rows)} cold-start row(s); {verdict}. Bench took {took:.0f} s.")
    return missed


def _throughput() -> tuple[tuple[str, str], bool]:
    """Run tests/perf; its rows as a table, and whether a bench failed (an assertion, not a figure)."""
    with tempfile.TemporaryDirectory() as folder:
        rows_path = Path(folder) / "rows.json"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/perf", "-p", "no:cacheprovider", "-q"],
            cwd=ROOT,
            env={**os.environ, "CRM_BENCH_ROWS": str(rows_path)},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(done.stdout[-5000:], done.stderr[-2000:], sep="\n")
        found = json.loads(rows_path.read_text()) if rows_path.exists() else []
    header = ("section", *HEADER)
    lines = [
        (
            raw["section"],
            *Row(raw["metric"], raw["value"], raw["baseline"], raw["unit"], raw["target"]).cells(),
        )
        for raw in found
    ]
    return (text_table(header, lines), markdown_table(header, lines)), done.returncode != 0


def _stderr(text: str, flush: bool = True) -> None:
    print(text, file=sys.stderr, flush=flush)


def _layer_line() -> str:
    """The built layer's size, or why there is none."""
    site = coldstart.BUILD / coldstart.LAYER / "python"
    if not site.is_dir():
        return f"{coldstart.LAYER}: no build output to size (make build)."
    return layer_size(site).line(coldstart.LAYER) + "."


def _cold_table(rows: list[Row], measured_on: str, layer: str) -> tuple[str, str]:
    lines = [row.cells() for row in rows]
    preface = f"Measured on {measured_on}.\n{layer}"
    return (
        f"{preface}\n\n{text_table(HEADER, lines)}",
        f"{preface.replace(chr(10), chr(10) * 2)}\n\n{markdown_table(HEADER, lines)}",
    )


def _calls_table(scenario: Scenario) -> tuple[str, str]:
    header = ("operation", "calls", "minimum", "RRU", "WRU", "calls made", "minimum is / why above it")
    lines = []
    for m in scenario.measured:
        calls = len(m.tally.calls)
        minimum = m.operation.minimum
        made = ", ".join(f"{n} {name}" for name, n in sorted(m.tally.by_operation().items()))
        lines.append((
            m.operation.name,
            str(calls),
            "-" if minimum is None else str(minimum),
            f"{m.tally.read_units:g}",
            f"{m.tally.write_units:g}",
            made,
            m.operation.why,
        ))  # fmt: skip
    return text_table(header, lines), markdown_table(header, lines)


def _bills(scenario: Scenario, init: dict[str, float]) -> tuple[list[billing.Line], list[billing.Line]]:
    """The month's bill of the reference business and of one ten times larger."""
    reference = billing.Business()
    return billing.bill(scenario, reference, init), billing.bill(scenario, reference.scaled(10), init)


def _bill_table(scenario: Scenario, init: dict[str, float]) -> tuple[str, str]:
    small, large = _bills(scenario, init)
    header = ("service", "item", "quantity (reference)", "reference $/month", "10x $/month")
    lines = [
        (a.service, a.item, a.quantity, f"{a.dollars:.2f}", f"{b.dollars:.2f}")
        for a, b in zip(small, large, strict=True)
    ]
    for label, goal in (("total without SES per-message prices", True), ("SES per-message prices", False)):
        lines.append((
            "**total**" if goal else "SES",
            label,
            "",
            f"{sum(x.dollars for x in small if x.in_goal is goal):.2f}",
            f"{sum(x.dollars for x in large if x.in_goal is goal):.2f}",
        ))  # fmt: skip
    return text_table(header, lines), markdown_table(header, lines)


def _document(tables: dict[str, str], rounds: int, measured_on: str) -> str:
    prices = billing.describe_prices()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU(s)"
    machine += f", Python {platform.python_version()}"
    intro = (Path(__file__).with_name("benchmarks_intro.md")).read_text()
    parts = [
        "<!-- Generated by `make bench` (python -m infra.bench): do not edit by hand. -->",
        "# Benchmarks",
        "",
        "[Documentation](index.md) · [README](../README.md)",
        "",
        f"Generated {now} on {machine}; cold start from {rounds} interleaved rounds of {measured_on}; "
        f"prices {prices['region']}, {prices['as_of']} (infra/bench/prices.json).",
        "",
        intro.strip(),
    ]
    for title, table in tables.items():
        parts += ["", f"## {title}", "", table]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    sys.exit(main())
