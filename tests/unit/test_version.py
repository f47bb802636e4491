"""One version: pyproject.toml's, carried by the layer, the template's SAR metadata, `crm --version`
and every log line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import crm_core
from infra import version
from infra.cli import main as crm


def test_the_layer_carries_the_pyproject_version() -> None:
    assert crm_core.__version__ == version.pyproject_version()


def test_the_template_sar_metadata_carries_the_pyproject_version() -> None:
    assert version.template_version() == version.pyproject_version()
    assert version.mismatches() == []


def test_crm_version_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        crm(["--version"])

    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"crm {version.pyproject_version()}"


def test_every_log_line_names_the_service_version() -> None:
    from aws_lambda_powertools import Logger

    from crm_core.observability import _formatter

    out = io.StringIO()
    logger = Logger(service="version-test", logger_formatter=_formatter(), stream=out)
    logger.info("first")
    logger.registered_formatter.clear_state()  # what inject_lambda_context(clear_state=True) does
    logger.info("after clear_state, write to ana@example.com")

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["service_version"] for line in lines] == [crm_core.__version__] * 2
    assert "<email>" in lines[1]["message"]  # the version rides on the redacting formatter


def test_importing_the_layer_reads_no_package_metadata() -> None:
    """The version costs nothing at cold start: a constant, not importlib.metadata."""
    code = "import sys, crm_core, crm_core.observability; print('importlib.metadata' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"


def test_a_drifted_copy_is_reported_and_write_brings_it_in_line(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\nversion = "1.2.3"\n', encoding="utf-8")
    layer = tmp_path / "_version.py"
    layer.write_text('"""doc"""\n\n__version__ = "1.2.2"\n', encoding="utf-8")
    template = tmp_path / "template.yaml"
    template.write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Metadata:\n"
        "  AWS::ServerlessRepo::Application:\n"
        "    Name: x\n"
        '    SemanticVersion: "1.2.2"\n'
        "Resources:\n"
        "  Topic:\n"
        "    Type: AWS::SNS::Topic\n",
        encoding="utf-8",
    )

    assert len(version.mismatches(pyproject, layer, template)) == 2
    assert version.write(pyproject, layer, template) == "1.2.3"
    assert version.mismatches(pyproject, layer, template) == []
    assert '__version__ = "1.2.3"' in layer.read_text(encoding="utf-8")
