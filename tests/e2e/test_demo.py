"""`crm demo`: every scene plays in name order through one stack, and a failing scene fails the demo."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import demo
from infra.cli import main

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_scenes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "20_second.py").write_text(
        '"""Second: the outbox is still empty."""\n'
        "def play(local):\n"
        "    local.say('second')\n"
        "    assert local.outbox() == ['an email that was never sent'], 'the outbox is empty'\n"
    )
    (tmp_path / "10_first.py").write_text(
        '"""First: the clock moves."""\n'
        "def play(local):\n"
        "    local.say('first')\n"
        "    assert local.set_clock('2030-01-01T00:00:00Z') == '2030-01-01T00:00:00Z'\n"
    )
    (tmp_path / "_helpers.py").write_text("raise RuntimeError('not a scene')\n")
    original = demo.scenes
    monkeypatch.setattr(demo, "scenes", lambda folder=tmp_path: original(folder))
    return tmp_path


def test_scenes_play_in_name_order_and_a_failure_makes_the_demo_fail(two_scenes: Path, capsys) -> None:
    status = main(["demo", "--port", "0"])

    out = capsys.readouterr().out
    assert status == 1
    assert out.index("10_first: First: the clock moves.") < out.index("20_second: Second")
    assert "  | first" in out and "✓ done" in out
    assert "✗ FAILED: AssertionError: the outbox is empty" in out
    assert "Demo: 1 of 2 scene(s) played as told." in out


def test_the_scene_folder_is_read_in_name_order(two_scenes: Path) -> None:
    assert [p.name for p in demo.scenes(two_scenes)] == ["10_first.py", "20_second.py"]
