"""`make build` replaces the layer's YAML business files with JSON: same data, and no PyYAML at run time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from crm_core.errors import ConfigurationError
from infra import business_files

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "crm_core" / "crm_core"

# Run in a fresh interpreter whose crm_core is the converted copy: every business file read through
# the loader, then every loader that parses one, then whether PyYAML was imported.
CHILD = """
import json, sys
from pathlib import Path
from crm_core.checks import read_yaml
from crm_core.campaigns import definitions, unsubscribe
from crm_core.cases import rules as case_rules
from crm_core.leads import visitor
from crm_core.lifecycle import rules as lifecycle_rules
from crm_core.owners import directory
from crm_core.surveys import answers, definitions as surveys
root = Path(sys.argv[1])
data = {name: read_yaml(root / name) for name in sys.argv[2:]}
definitions.load_file(definitions.CAMPAIGNS_FILE)
case_rules.load_policy(case_rules.RULES_PATH)
lifecycle_rules.load_rules()
directory.load()
surveys.load_file(surveys.SURVEYS_FILE)
visitor._strings(), answers._strings(), unsubscribe._strings()
print(json.dumps({"data": data, "yaml": "yaml" in sys.modules}))
"""


@pytest.fixture
def built(tmp_path: Path) -> Path:
    copy = tmp_path / "python" / "crm_core"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_every_yaml_file_becomes_json_with_the_same_data(built: Path) -> None:
    sources = sorted(p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.yaml"))

    written = business_files.write_json(built)

    assert sorted(p.relative_to(built).with_suffix(".yaml") for p in written) == sources
    assert not list(built.rglob("*.yaml"))
    for path in sources:
        converted = json.loads((built / path).with_suffix(".json").read_text(encoding="utf-8"))
        assert converted == yaml.safe_load((PACKAGE / path).read_text(encoding="utf-8")), path


def test_a_built_layer_loads_every_business_file_without_pyyaml(built: Path) -> None:
    names = [str(p.relative_to(built).with_suffix(".yaml")) for p in business_files.write_json(built)]
    env = {**os.environ, "PYTHONPATH": str(built.parent), "AWS_REGION": "eu-west-1"}

    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(built), *names],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["yaml"] is False
    assert sorted(result["data"]) == sorted(names)
    for name, data in result["data"].items():
        assert data == yaml.safe_load((PACKAGE / name).read_text(encoding="utf-8")), name


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("starts: 2026-01-01\n", "quote the value"),  # YAML reads an unquoted date as a date
        ("steps:\n  1: welcome\n", "keys must be text"),  # JSON would turn the key 1 into "1"
    ],
)
def test_data_json_cannot_carry_unchanged_fails_the_build(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "campaigns.yaml").write_text(text, encoding="utf-8")

    with pytest.raises(ConfigurationError, match=problem):
        business_files.write_json(tmp_path)

    assert (tmp_path / "campaigns.yaml").exists()  # nothing replaced by a half-converted file
