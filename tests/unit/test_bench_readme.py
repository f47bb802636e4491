"""The README's bench block is rewritten from a run's figures, between its markers and nowhere else."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from infra.bench import readme
from infra.bench.rows import Row


def _measured(name: str, calls: int, minimum: int | None) -> SimpleNamespace:
    return SimpleNamespace(
        operation=SimpleNamespace(name=name, minimum=minimum), tally=SimpleNamespace(calls=[0] * calls)
    )


def _line(service: str, item: str, dollars: float, *, in_goal: bool = True) -> SimpleNamespace:
    return SimpleNamespace(service=service, item=item, dollars=dollars, in_goal=in_goal)


ROWS = [
    Row("CaptureLead: import", 300.0, 250.0, "ms", "<= 1.5"),
    Row("CaptureLead: import + first event", 500.0, 400.0, "ms", "<= 1.5"),
    Row("RouteComplaint: import", 450.0, 250.0, "ms", "<= 1.5"),
    Row("RouteComplaint: import + first event", 560.0, 400.0, "ms", "<= 1.5"),
]
BILL = (
    [
        _line("KMS", "1 key (x)", 1.0),
        _line("CloudWatch", "alarms", 1.2),
        _line("SES", "sending", 2.0, in_goal=False),
    ],
    [
        _line("KMS", "1 key (x)", 1.5),
        _line("CloudWatch", "alarms", 1.2),
        _line("SES", "sending", 20.0, in_goal=False),
    ],
)


def test_the_block_shows_each_function_once_with_both_ratios_and_its_verdict() -> None:
    text = readme.block(ROWS, [_measured("new lead", 6, 2)], BILL)

    assert "| CaptureLead | 1.20x | 1.25x | pass |" in text
    assert "| RouteComplaint | 1.80x | 1.40x | FAIL |" in text
    assert "1 of 2 functions within it" in text
    assert "| new lead | 6 | 2 |" in text
    assert "**$2.20** (10x larger: $2.70), plus $2.00 of SES" in text
    assert "CloudWatch alarms $1.20, KMS 1 key $1.00" in text


def test_write_replaces_only_the_block(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text(
        f"# Title\n\nbefore\n\n{readme.BEGIN}\nold figures\n{readme.END}\n\nafter\n", encoding="utf-8"
    )

    readme.write(path, readme.block(ROWS, [], BILL))
    readme.write(path, readme.block(ROWS, [], BILL))  # a second run rewrites, never appends

    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith("\n\nafter\n")
    assert "old figures" not in text
    assert text.count(readme.BEGIN) == 1 and text.count("| CaptureLead |") == 1


def test_a_readme_without_the_markers_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text("# Title\n", encoding="utf-8")

    with pytest.raises(ValueError, match="no .* block"):
        readme.write(path, "x")
    assert path.read_text(encoding="utf-8") == "# Title\n"


def test_the_project_readme_has_the_block() -> None:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert text.count(readme.BEGIN) == 1 and text.count(readme.END) == 1
