"""Where the cold-start bench runs its fresh processes: `make build`'s output under the runtime's
python3.12 and boto3 when there is one, else the source tree, and what such a process may import."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.bench import coldstart
from infra.bench.bill import Business
from infra.bench.operations import OPERATIONS


def test_a_built_function_has_its_folder_then_the_layer_first_on_the_path_and_nothing_else(
    tmp_path: Path,
) -> None:
    where = coldstart.Target("/opt/runtime/bin/python", tmp_path)
    env = {"PATH": "/usr/bin", "PYTHONPATH": "/work/src", "PYTHONHOME": "/x", "AWS_REGION": "eu-west-1"}

    child = where.environment("CaptureLeadFunction", env)

    assert child["PYTHONPATH"].split(":") == [
        str(tmp_path / "CaptureLeadFunction"),
        str(tmp_path / "CrmCoreLayer" / "python"),
    ]
    assert "PYTHONHOME" not in child
    assert child["PYTHONDONTWRITEBYTECODE"] == "1"  # Lambda's /var/task and /opt are read-only
    assert child["AWS_REGION"] == "eu-west-1"
    assert where.command("-c", "pass") == ["/opt/runtime/bin/python", "-s", "-c", "pass"]
    built = where.handler_path("CaptureLeadFunction", Path("functions/capture_lead/app.py"))
    assert built == tmp_path / "CaptureLeadFunction" / "app.py"


def test_the_source_tree_target_leaves_the_environment_and_the_handler_path_alone() -> None:
    where = coldstart.Target("/venv/bin/python", why_source="asked for (--source-tree)")
    env = {"PYTHONPATH": "/work/src"}
    assert where.environment("CaptureLeadFunction", env) == env
    assert where.handler_path("X", Path("functions/x/app.py")) == Path("functions/x/app.py")
    assert "source tree" in where.describe() and "--source-tree" in where.describe()


def test_without_a_build_the_bench_says_it_measures_the_source_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coldstart, "BUILD", tmp_path / "no-build")
    where = coldstart.target()
    assert where.build is None
    assert "no build output" in where.describe()


def test_without_the_runtime_interpreter_the_bench_measures_the_source_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "CrmCoreLayer" / "python").mkdir(parents=True)
    monkeypatch.setattr(coldstart, "BUILD", tmp_path)
    monkeypatch.setattr(coldstart, "RUNTIME_PYTHON", tmp_path / "missing" / "python")
    assert "no runtime interpreter" in coldstart.target().describe()


def test_a_module_from_the_tool_environment_that_lambda_lacks_is_reported(tmp_path: Path) -> None:
    site = tmp_path / "runtime" / "lib" / "python3.12" / "site-packages"
    build = tmp_path / "build"
    modules = {
        "app": str(build / "CaptureLeadFunction" / "app.py"),
        "crm_core": str(build / "CrmCoreLayer" / "python" / "crm_core" / "__init__.py"),
        "json": "/usr/lib/python3.12/json/__init__.py",  # the standard library
        "botocore.client": str(site / "botocore" / "client.py"),  # the runtime provides it
        "six": str(site / "six.py"),
        "sys": None,  # built in
        "pip._internal": str(site / "pip" / "_internal" / "__init__.py"),
        "yaml.loader": str(site / "yaml" / "loader.py"),  # not in the layer: missing on Lambda
    }
    assert coldstart.foreign_modules(modules, build) == [
        f"pip ({site / 'pip' / '_internal'})",
        f"yaml ({site / 'yaml'})",
    ]


def test_pydantic_is_found_by_its_modules() -> None:
    assert coldstart.loads_pydantic({"pydantic_core._pydantic_core": None})
    assert coldstart.loads_pydantic({"pydantic.main": None})
    assert not coldstart.loads_pydantic({"pydantic_settings_like": None, "json": None})


def test_the_build_is_stale_when_a_source_file_is_newer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = tmp_path / "build"
    build.mkdir()
    (build / "template.yaml").write_text("")
    monkeypatch.setattr(coldstart, "ROOT", tmp_path)
    handler = tmp_path / "functions" / "capture_lead" / "app.py"
    handler.parent.mkdir(parents=True)
    handler.write_text("")
    old = (build / "template.yaml").stat().st_mtime
    os.utime(handler, (old - 10, old - 10))
    assert coldstart.stale(build) == []
    os.utime(handler, (old + 10, old + 10))
    assert coldstart.stale(build) == ["functions/capture_lead/app.py"]


def test_every_billed_volume_names_an_operation_the_scenario_measures() -> None:
    # the bill skips a volume whose operation was not measured: a misspelt name would bill nothing
    names = {o.name for o in OPERATIONS}
    volumes = Business().volumes()
    assert set(volumes) <= names, set(volumes) - names
    assert volumes["survey answer (POST, score 4 of 5)"] == 1_000  # fixed by the issue
    assert volumes["contact 360 (GET /contacts/{id})"] == 500 + 200  # one per complaint, a tenth of orders
