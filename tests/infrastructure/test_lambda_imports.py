"""What the Lambda functions import: never pydantic (the layer no longer ships it), and, in a fresh
`make build`, nothing the built layer and the runtime's boto3 do not provide.

Each function runs in a fresh process, as the cold-start bench runs it (`infra.bench.coldstart`): import
of its handler and the first event it handled in the bench's scenario, so what a handler imports
lazily on its first invocation counts too. The project's interpreter has pydantic installed (the dev
tools need it), so a handler that imports it succeeds there, and shows in its `sys.modules`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from infra.bench import coldstart
from infra.template import ROOT, Template


def test_no_function_loads_pydantic_on_import_or_first_event() -> None:
    # Given every function of template.yaml, played through the bench's scenario
    done = subprocess.run(
        [sys.executable, "-m", "infra.bench.coldstart", "--source-tree"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    functions = json.loads(done.stdout.splitlines()[-1])["functions"]

    # Then each one handled an event in a fresh process, and none of them imported pydantic
    assert sorted(functions) == sorted(Template().functions()), "a function has no event in the scenario"
    assert [name for name, found in functions.items() if found["pydantic"]] == []


def _fresh_build() -> str | None:
    """Why the built functions cannot be checked here, or None when a fresh build and runtime exist."""
    where = coldstart.target()
    if where.build is None:
        return f"no build to check: {where.why_source}"
    if changed := coldstart.stale(where.build):
        return f"the build is older than {changed[0]} (make build)"
    return None


@pytest.mark.skipif(_fresh_build() is not None, reason=_fresh_build() or "")
def test_every_built_function_imports_with_only_the_layer_and_the_runtime_boto3() -> None:
    where = coldstart.target()
    assert where.build is not None
    template, failed = Template(), {}
    for logical_id, function in template.functions().items():
        env = where.environment(logical_id, {**os.environ, **template.environment()})
        app = where.handler_path(logical_id, function.handler_path)
        code = (
            "import importlib.util, json, sys\n"
            f"spec = importlib.util.spec_from_file_location('app', {str(app)!r})\n"
            "module = importlib.util.module_from_spec(spec); sys.modules['app'] = module\n"
            "spec.loader.exec_module(module)\n"
            "print(json.dumps({n: getattr(m, '__file__', None) for n, m in list(sys.modules.items())}))\n"
        )
        ran = subprocess.run(
            where.command("-c", code), env=env, capture_output=True, text=True, check=False, timeout=120
        )
        if ran.returncode != 0:
            failed[logical_id] = ran.stderr.strip().splitlines()[-1:]
            continue
        modules = json.loads(ran.stdout.splitlines()[-1])
        if foreign := coldstart.foreign_modules(modules, where.build):
            failed[logical_id] = foreign
        if coldstart.loads_pydantic(modules):
            failed[logical_id] = ["pydantic"]
    assert failed == {}
