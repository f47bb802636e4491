"""CLI output of untrusted text: escape sequences are shown, never obeyed by the terminal."""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

import pytest

from infra import commands
from infra.commands import cases
from infra.terminal import safe

HOSTILE = "Rimborso\x1b[2J\x1b]8;;https://evil.example\x07qui\x1b]8;;\x07\r\u202eFAKE\x9b31m\u2028x"


def _raw_controls(text: str) -> list[str]:
    return [
        c
        for c in text
        if c not in "\n\t" and (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u202e\u2028")
    ]


def test_safe_shows_every_control_character_as_an_escape() -> None:
    shown = safe(HOSTILE)
    assert _raw_controls(shown) == []
    assert "\\x1b[2J" in shown and "\\u202e" in shown and "\\x9b" in shown and "Rimborso" in shown


CASE = {
    "case_id": "C-7Q4M2X",
    "status": "open",
    "priority": "P3",
    "team": "logistics",
    "category": "delivery",
    "name": HOSTILE,
    "email": "ana@example.it",
    "tier": None,
    "subject": HOSTILE,
    "first_response_due": "2026-11-23T18:00:00.000Z",
    "resolution_due": "2026-11-26T10:00:00.000Z",
    "quarantine_reason": HOSTILE,
    "events": [{"at": "2026-11-23T10:00:00.000Z", "kind": "inbound", "subject": HOSTILE, "text": HOSTILE}],
}


@pytest.mark.parametrize("as_json", [False, True])
def test_crm_cases_show_and_list_escape_untrusted_text(capsys, monkeypatch, as_json) -> None:
    monkeypatch.setattr(
        cases, "_get", lambda url, path, query=None: {"cases": [CASE]} if path == "/cases" else CASE
    )
    args = argparse.Namespace(url="http://x", json=as_json, case_id="C-7Q4M2X", status=None, overdue=False)

    cases._show(args)
    cases._list(args)

    out = capsys.readouterr().out
    assert _raw_controls(out) == [], out
    if as_json:
        assert json.loads(out.split("\n}\n")[0] + "\n}")["subject"] == HOSTILE


def test_no_command_prints_except_through_the_escaping_helper() -> None:
    folder = Path(commands.__file__).parent
    printing = [
        f"{path.name}:{node.lineno}"
        for path in sorted(folder.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
    ]
    assert printing == [], "print data through infra.terminal.echo/safe"
