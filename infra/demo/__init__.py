"""`crm demo`: start the local stack, play every scene of infra/demo/scenes/ in name order, stop.

A scene is a module with `def play(local: LocalClient) -> None` that tells its story through HTTP
calls and `local.say(...)`, and raises AssertionError when what it shows did not happen. Its
docstring's first line is its title. Each scene starts where the previous one left the stack's clock,
and the demo says where that is; narration is sentences, never JSON or Python reprs.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType

from infra.local.client import LocalClient
from infra.modules import load_module

SCENES = Path(__file__).resolve().parent / "scenes"
# The demo tells its story; handlers' JSON log lines and metrics would drown it, even the errors a scene
# provokes on purpose (a poison message parked in the DLQ). --verbose shows them all.
QUIET = {"POWERTOOLS_LOG_LEVEL": "CRITICAL", "POWERTOOLS_METRICS_DISABLED": "true"}


@dataclass
class Result:
    scene: str
    title: str
    seconds: float
    error: str | None = None


def scenes(folder: Path = SCENES) -> list[Path]:
    """The scene files, in the order they play (by name: 00_stack.py, 10_leads.py, ...)."""
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def load(path: Path) -> ModuleType:
    """Import a scene by file path (scene names start with digits, so they are not importable names)."""
    return load_module(path, f"crm_demo_scene_{path.stem}")


def play_all(local: LocalClient, paths: list[Path], out: Callable[[str], None] = print) -> list[Result]:
    """Play each scene in turn; a failing scene is reported and the next one still plays."""
    results = []
    for path in paths:
        started = time.perf_counter()
        title = path.stem
        try:
            module = load(path)
            title = ((module.__doc__ or "").strip().splitlines() or [path.stem])[0]
            out(f"\n== {path.stem}: {title}")
            out(f"  (the stack's clock: {when(local.now())})")
            module.play(local)
        except Exception as exc:  # noqa: BLE001 - every scene is reported, a failure does not stop the demo
            detail = "".join(traceback.format_exception(exc)).rstrip()
            out(f"  ✗ FAILED: {type(exc).__name__}: {exc}\n{_indent(detail)}")
            results.append(
                Result(path.stem, title, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
            )
            continue
        seconds = time.perf_counter() - started
        out(f"  ✓ done in {seconds:.1f} s")
        results.append(Result(path.stem, title, seconds))
    return results


def when(iso: str) -> str:
    """An ISO 8601 UTC time as a person says it: "Sunday 28 February 2027, 09:30 UTC"."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return f"{moment:%A} {moment.day} {moment:%B %Y, %H:%M} UTC"


def summary(results: list[Result]) -> str:
    failed = [r for r in results if r.error]
    lines = ["", f"Demo: {len(results) - len(failed)} of {len(results)} scene(s) played as told."]
    lines += [f"  ✗ {r.scene}: {r.error}" for r in failed]
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join(f"      {line}" for line in text.splitlines())
