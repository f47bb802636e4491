"""The business-edited files are checked whole when the local stack starts and when `crm` uses them."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_core.campaigns import unsubscribe
from crm_core.errors import ConfigurationError
from infra import business_files
from infra.cli import main


def test_the_shipped_files_are_good() -> None:
    assert business_files.problems() == []


def test_a_page_language_missing_a_wording_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "strings.yaml").write_text(
        "en:\n  done_title: Done\n  done_body: Bye\nit:\n  done_title: Fatto\n", encoding="utf-8"
    )
    monkeypatch.setattr(unsubscribe, "PAGES_DIR", tmp_path)

    with pytest.raises(ConfigurationError, match="it: missing done_body \\(which en has\\)"):
        business_files.check()


def test_the_local_stack_refuses_to_start_with_a_broken_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crm_core.campaigns import definitions

    broken = tmp_path / "campaigns.yaml"
    broken.write_text("campaigns:\n  welcome:\n    steps: 3\n", encoding="utf-8")
    monkeypatch.setattr(definitions, "CAMPAIGNS_FILE", broken)

    assert main(["local", "up", "--port", "0", "--quiet"]) == 1

    out, err = capsys.readouterr()
    assert "Ready" not in out
    assert err.startswith("crm: campaigns.yaml has ") and "problem(s)" in err and "Traceback" not in err
    assert "Fix the file (or the setting) it names" in err
