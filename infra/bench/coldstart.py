"""Cold start as Lambda pays it: a fresh process imports the handler and handles one event.

For every function, one round runs, back to back in fresh interpreters:
- the handler: import `functions/<name>/app.py`, then handle the event that function handled in
  the scenario (`infra.bench.operations`), against the scenario's moto server;
- its baseline: `import boto3`, create the same clients and make exactly the calls the handler made
  (recorded once, on the wire, in an untimed run before the rounds).
Rounds are interleaved (every function and baseline once per round), so a busy moment of a shared
machine hits both figures of a pair alike; the ratio reported is the median of the per-round ratios.

moto runs as a server in the bench's process (single-threaded, as the local stack serves it), not
in each fresh interpreter: importing moto there would import boto3 and most of the standard
library before the timer starts and hide what the handler pays.
"""

from __future__ import annotations

import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.bench.rows import Row

TARGET = "<= 1.5"

_CONTEXT = """
class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    region = os.environ["AWS_REGION"]
    invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 30000
"""

# argv: handler path, handler name, event (pickle) path, result path, calls path ("" = do not record)
HANDLER = (
    """
import time
started = time.perf_counter()
import importlib.util, os, pickle, sys, json
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["app"] = module
spec.loader.exec_module(module)
imported = time.perf_counter()
"""
    + _CONTEXT
    + """
with open(sys.argv[3], "rb") as f:
    event = pickle.load(f)
calls = []
if sys.argv[5]:
    from botocore.client import ClientCreator
    original = ClientCreator.create_client
    def create_client(self, *args, **kwargs):
        client = original(self, *args, **kwargs)
        service = client.meta.service_model.service_name
        def keep(params, model, **_):
            calls.append((service, model.name, dict(params)))
        client.meta.events.register("before-parameter-build", keep)
        return client
    ClientCreator.create_client = create_client
getattr(module, sys.argv[2])(event, Context())
done = time.perf_counter()
if sys.argv[5]:
    with open(sys.argv[5], "wb") as f:
        pickle.dump(calls, f)
with open(sys.argv[4], "w") as f:
    json.dump({"import": imported - started, "first": done - started}, f)
"""
)

# argv: calls path, result path
BASELINE = """
import time
started = time.perf_counter()
import boto3
imported = time.perf_counter()
import json, pickle, sys
from botocore import xform_name
from botocore.config import Config
with open(sys.argv[1], "rb") as f:
    calls = pickle.load(f)
clients = {}
for service, operation, params in calls:
    if service not in clients:
        retries = Config(retries={"mode": "standard", "max_attempts": 3})
        clients[service] = boto3.client(service, config=retries)
    client = clients[service]
    try:
        getattr(client, xform_name(operation))(**params)
    except client.exceptions.ClientError:
        pass  # a conditional write the handler also saw refused: the round trip is what counts
done = time.perf_counter()
with open(sys.argv[2], "w") as f:
    json.dump({"import": imported - started, "first": done - started}, f)
"""


@dataclass
class Sample:
    handler_import: list[float]
    handler_first: list[float]
    boto3_import: list[float]
    baseline_first: list[float]
    calls: int


def _run(code: str, env: dict[str, str], result: Path, *args: str) -> dict[str, float]:
    done = subprocess.run(  # noqa: S603 - our own interpreter and bench code, no shell
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench child failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(result.read_text()))


def measure(  # noqa: PLR0917 - the bench's knobs
    runtime: Any,
    events: dict[str, Any],
    moto_url: str,
    rounds: int,
    log: Any = print,
    profile: str | None = None,
) -> dict[str, Sample]:
    """Interleaved rounds for every function that handled an event in the scenario; with `profile`
    (a function's logical id), first a cProfile of its import + first event, printed and saved."""
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    base_env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's fake credentials
        AWS_REGION=runtime.template.region,
        AWS_DEFAULT_REGION=runtime.template.region,
        AWS_ENDPOINT_URL=moto_url,
    )
    work = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    plans: dict[str, tuple[dict[str, str], list[str], Path]] = {}
    samples: dict[str, Sample] = {}
    for logical_id, event in sorted(events.items()):
        function = runtime.functions[logical_id]
        env = {**base_env, **{k: str(v) for k, v in runtime.environment(logical_id).items()}}
        event_path, calls_path = work / f"{logical_id}.event", work / f"{logical_id}.calls"
        event_path.write_bytes(pickle.dumps(event))
        args = [str(function.handler_path), function.handler_name, str(event_path), str(work / "r.json")]
        _run(
            HANDLER, env, work / "r.json", *args, str(calls_path)
        )  # untimed: records the calls, warms the OS file cache
        plans[logical_id] = (env, args, calls_path)
        calls = len(pickle.loads(calls_path.read_bytes()))  # noqa: S301 - the pickle our own child process wrote a moment ago
        samples[logical_id] = Sample([], [], [], [], calls)
    if profile:
        _profile(profile, plans[profile], work, log)
    for n in range(rounds):
        log(f"  cold start round {n + 1}/{rounds}", flush=True)
        for logical_id, (env, args, calls_path) in plans.items():
            handler = _run(HANDLER, env, work / "r.json", *args, "")
            baseline = _run(BASELINE, env, work / "b.json", str(calls_path), str(work / "b.json"))
            sample = samples[logical_id]
            sample.handler_import.append(handler["import"])
            sample.handler_first.append(handler["first"])
            sample.boto3_import.append(baseline["import"])
            sample.baseline_first.append(baseline["first"])
    return samples


def _profile(logical_id: str, plan: tuple[dict[str, str], list[str], Path], work: Path, log: Any) -> None:
    """cProfile of one fresh process importing the handler and handling its event."""
    import pstats  # only for --profile

    env, args, _ = plan
    script, output = work / "handler.py", Path(tempfile.gettempdir()) / f"crm-bench-{logical_id}.prof"
    script.write_text(HANDLER)
    done = subprocess.run(  # noqa: S603 - our own interpreter and bench code, no shell
        [sys.executable, "-m", "cProfile", "-o", str(output), str(script), *args, ""],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"profiling {logical_id} failed:\n{done.stderr[-3000:]}")
    log(f"Profile of {logical_id}'s import + first event: {output} (top 40 by cumulative time)")
    stats = pstats.Stats(str(output))
    stats.sort_stats("cumulative").print_stats(40)


def rows(samples: dict[str, Sample]) -> list[Row]:
    """Two rows per function: import only, and import + first event; ratios are medians of pairs."""
    out = []
    for logical_id, s in samples.items():
        name = logical_id.removesuffix("Function")
        for label, values, baselines in (
            ("import", s.handler_import, s.boto3_import),
            ("import + first event", s.handler_first, s.baseline_first),
        ):
            ratio = statistics.median(v / b for v, b in zip(values, baselines, strict=True))
            baseline = statistics.median(baselines) * 1000
            out.append(
                Row(
                    f"{name}: {label}",
                    ratio * baseline,  # shown value = median baseline x median paired ratio
                    baseline,
                    "ms",
                    TARGET,
                    note=f"{s.calls} AWS calls" if label != "import" else "vs import boto3",
                )
            )
    return out
