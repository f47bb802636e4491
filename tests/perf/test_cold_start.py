"""Cold start: each function's handler import in a fresh interpreter, beside `import boto3` in the same run.

Lambda's init phase is mostly imports; boto3 is the yardstick every Python function pays anyway.
Target: a handler's import costs at most twice `import boto3`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

from infra.template import Function, Template
from tests.perf.harness import record

RUNS = 5
TARGET = "<= 2.0"
_TIMED_IMPORT = """
import importlib.util, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
print(time.perf_counter() - started)
"""
_TIMED_BOTO3 = """
import time
started = time.perf_counter()
import boto3
print(time.perf_counter() - started)
"""


def _environment(template: Template, function: Function | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_REGION=template.region,
        AWS_DEFAULT_REGION=template.region,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        **template.environment(),
    )
    if function is not None:
        env.update(function.environment)
    return env


def _seconds(code: str, env: dict[str, str], *args: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return float(done.stdout.strip().splitlines()[-1])


def test_every_handler_imports_within_twice_boto3() -> None:
    template = Template()
    functions = template.functions()
    samples: dict[str, list[float]] = {"boto3": [], **{name: [] for name in functions}}
    for _ in range(RUNS):  # interleaved, so a busy moment of the machine hits every figure alike
        samples["boto3"].append(_seconds(_TIMED_BOTO3, _environment(template, None)))
        for name, function in functions.items():
            samples[name].append(
                _seconds(_TIMED_IMPORT, _environment(template, function), str(function.handler_path))
            )
    boto3_ms = statistics.median(samples["boto3"]) * 1000
    record("cold start", "import boto3 (baseline)", boto3_ms, unit="ms")
    if not functions:
        record("cold start", "no function in template.yaml yet", None)
        return
    rows = [
        record(
            "cold start",
            f"import {name} handler",
            statistics.median(samples[name]) * 1000,
            baseline=boto3_ms,
            unit="ms",
            target=TARGET,
        )
        for name in functions
    ]
    slow = [row.metric for row in rows if row.passed is False]
    assert not slow, f"handler imports over {TARGET} x import boto3: {slow}"
