"""Cold start as Lambda pays it: a fresh process imports the handler and handles one event.

What runs is `make build`'s output when there is one (`Target`): the built function folder and the
pruned, compiled layer on `PYTHONPATH`, under python3.12 with the runtime's boto3 (`.tools/runtime`,
nothing else installed), as Lambda puts /var/task, the layer and its runtime on the path. Without a
build (no python3.12 here) it is the source tree under the project's interpreter, and the bench says so.

For every function, one round runs, back to back in fresh interpreters:
- the handler: import its `app.py`, then handle the event that function handled in
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
import platform
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.bench.rows import Row
from infra.build import RUNTIME_PROVIDED
from infra.template import ROOT

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

# argv: handler path, handler name, event (pickle) path, result path, record path ("" = do not record):
# the record is the calls made and the modules loaded, with the file each came from
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
now = os.environ.get("CRM_BENCH_NOW")  # the scenario's instant: a scheduled run finds its work due
if now:
    from crm_core import clock  # imported by the handler already
    clock.use_clock(clock.FrozenClock(clock.parse_instant(now)))
getattr(module, sys.argv[2])(event, Context())
done = time.perf_counter()
if sys.argv[5]:
    modules = {n: getattr(m, "__file__", None) for n, m in list(sys.modules.items())}
    with open(sys.argv[5], "wb") as f:
        pickle.dump({"calls": calls, "modules": modules}, f)
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
    calls = pickle.load(f)["calls"]
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


BUILD = ROOT / ".aws-sam" / "build"
RUNTIME_PYTHON = ROOT / ".tools" / "runtime" / "bin" / "python"
LAYER = "CrmCoreLayer"


@dataclass(frozen=True)
class Target:
    """What the fresh processes run: `make build`'s output under the runtime's python3.12 and boto3,
    or (`build` None) the source tree under the project's own interpreter."""

    python: str
    build: Path | None = None
    why_source: str = ""  # why the source tree was measured, when it was

    @property
    def layer(self) -> Path:
        assert self.build is not None
        return self.build / LAYER / "python"

    def handler_path(self, logical_id: str, source: Path) -> Path:
        """The app.py a fresh process imports: the built copy, or the source file."""
        return source if self.build is None else self.build / logical_id / source.name

    def command(self, *args: str) -> list[str]:
        """The interpreter's command line. Built: `-s`, no user site-packages, as in Lambda; not `-I`
        (it ignores PYTHONPATH, where the build is) nor `-S` (it drops the site-packages that stand for
        the runtime's, where boto3 is, and that Lambda's python has on its path after the layer)."""
        return [self.python, *args] if self.build is None else [self.python, "-s", *args]

    def environment(self, logical_id: str, env: dict[str, str]) -> dict[str, str]:
        """The child's environment. Built: the function folder, then the layer, first on the path (as
        /var/task and /opt/python come before the runtime's packages), and no .pyc written (read-only
        in Lambda); no other PYTHON* variable reaches the child."""
        if self.build is None:
            return env
        clean = {k: v for k, v in env.items() if not k.startswith("PYTHON")}
        path = os.pathsep.join([str(self.build / logical_id), str(self.layer)])
        return {**clean, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1"}

    def describe(self) -> str:
        if self.build is None:
            python = f"Python {platform.python_version()}"
            return f"the source tree under the project's {python} ({self.why_source})"
        tools = RUNTIME_PYTHON.parent.parent.relative_to(ROOT)
        return (
            f"make build's output ({self.build.relative_to(ROOT)}) under {self.version()} and {tools}'s boto3"
        )

    def version(self) -> str:
        done = subprocess.run(  # noqa: S603 - the runtime's interpreter, no shell
            [self.python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return f"Python {done.stdout.strip()}"


def target(source_tree: bool = False) -> Target:
    """The build output when `make build` made one and the runtime's interpreter exists, else the source."""
    if source_tree:
        return Target(sys.executable, why_source="asked for (--source-tree)")
    if not (BUILD / LAYER / "python").is_dir():
        return Target(
            sys.executable, why_source="no build output (make build needs python3.12 and the SAM CLI)"
        )
    if not RUNTIME_PYTHON.exists():
        return Target(
            sys.executable,
            why_source="no runtime interpreter (make .tools/runtime/.installed needs python3.12)",
        )
    return Target(str(RUNTIME_PYTHON), BUILD)


def stale(build: Path) -> list[str]:
    """Source files changed since the build (handlers, layer): the build then measures older code."""
    built = (build / "template.yaml").stat().st_mtime if (build / "template.yaml").exists() else 0.0
    sources = [*(ROOT / "functions").rglob("*.py"), *(ROOT / "layers").rglob("*")]
    return sorted(
        str(f.relative_to(ROOT))
        for f in sources
        if f.is_file() and "__pycache__" not in f.parts and f.stat().st_mtime > built
    )


def foreign_modules(modules: dict[str, str | None], build: Path) -> list[str]:
    """Modules a built handler loaded from an installed package that is neither in the build nor one the
    Lambda runtime provides: on Lambda they would be missing (the layer lacks them)."""
    root = build.resolve()
    found = set()
    for name, file in modules.items():
        if not file:
            continue
        path = Path(file).resolve()
        if path.is_relative_to(root) or "site-packages" not in path.parts:
            continue  # the build, or the interpreter's standard library
        top = path.parts[path.parts.index("site-packages") + 1].removesuffix(".py")
        if top.lower() not in RUNTIME_PROVIDED:
            found.add(f"{name.partition('.')[0]} ({path.parent})")
    return sorted(found)


def loads_pydantic(modules: dict[str, str | None]) -> bool:
    return any(name == "pydantic" or name.startswith(("pydantic.", "pydantic_core")) for name in modules)


@dataclass
class Sample:
    handler_import: list[float]
    handler_first: list[float]
    boto3_import: list[float]
    baseline_first: list[float]
    calls: int
    pydantic: bool = False  # the handler's import or first event imported pydantic


def _run(target: Target, code: str, env: dict[str, str], result: Path, *args: str) -> dict[str, float]:
    done = subprocess.run(  # noqa: S603 - our own interpreter and bench code, no shell
        target.command("-c", code, *args), env=env, capture_output=True, text=True, check=False
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
    where: Target | None = None,
    instants: dict[str, str] | None = None,
) -> dict[str, Sample]:
    """Interleaved rounds for every function that handled an event in the scenario; with `profile`
    (a function's logical id), first a cProfile of its import + first event, printed and saved.
    `instants` (logical id -> ISO instant) sets the handler's clock to when the scenario played its
    event, so an hourly digest run is in an owner's morning whatever the time the bench runs at.
    Raises RuntimeError when a built handler imported a package the build and the runtime lack."""
    where = where or target()
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
        env = where.environment(logical_id, env)
        if instants and logical_id in instants:
            env["CRM_BENCH_NOW"] = instants[logical_id]
        event_path, record_path = work / f"{logical_id}.event", work / f"{logical_id}.record"
        event_path.write_bytes(pickle.dumps(event))
        app = where.handler_path(logical_id, function.handler_path)
        args = [str(app), function.handler_name, str(event_path), str(work / "r.json")]
        # untimed: records the calls and modules, warms the OS file cache
        _run(where, HANDLER, env, work / "r.json", *args, str(record_path))
        record = pickle.loads(record_path.read_bytes())  # noqa: S301 - the pickle our own child process wrote a moment ago
        calls_path = work / f"{logical_id}.calls"
        calls_path.write_bytes(pickle.dumps({"calls": record["calls"]}))
        if where.build is not None and (foreign := foreign_modules(record["modules"], where.build)):
            raise RuntimeError(f"{logical_id} imported what neither the build nor the runtime has: {foreign}")
        plans[logical_id] = (env, args, calls_path)
        samples[logical_id] = Sample([], [], [], [], len(record["calls"]), loads_pydantic(record["modules"]))
        if samples[logical_id].pydantic:
            log(f"  {logical_id} imports pydantic (its import or first event): the layer no longer ships it")
    if profile:
        _profile(where, profile, plans[profile], work, log)
    for n in range(rounds):
        log(f"  cold start round {n + 1}/{rounds}", flush=True)
        for logical_id, (env, args, calls_path) in plans.items():
            handler = _run(where, HANDLER, env, work / "r.json", *args, "")
            baseline = _run(where, BASELINE, env, work / "b.json", str(calls_path), str(work / "b.json"))
            sample = samples[logical_id]
            sample.handler_import.append(handler["import"])
            sample.handler_first.append(handler["first"])
            sample.boto3_import.append(baseline["import"])
            sample.baseline_first.append(baseline["first"])
    return samples


def _profile(
    where: Target, logical_id: str, plan: tuple[dict[str, str], list[str], Path], work: Path, log: Any
) -> None:
    """cProfile of one fresh process importing the handler and handling its event."""
    import pstats  # only for --profile

    env, args, _ = plan
    script, output = work / "handler.py", Path(tempfile.gettempdir()) / f"crm-bench-{logical_id}.prof"
    script.write_text(HANDLER)
    done = subprocess.run(  # noqa: S603 - our own interpreter and bench code, no shell
        where.command("-m", "cProfile", "-o", str(output), str(script), *args, ""),
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
                    note=(f"{s.calls} AWS calls" if label != "import" else "vs import boto3")
                    + ("; loads pydantic" if s.pydantic else ""),
                )
            )
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m infra.bench.coldstart [--source-tree]`: every function's import + first event once,
    untimed (the scenario played first): JSON of each function's AWS calls and whether it loaded pydantic."""
    from infra.bench.operations import play

    where = target("--source-tree" in (argv if argv is not None else sys.argv[1:]))
    found: dict[str, Sample] = {}

    def record(stack: Any, scenario: Any) -> None:
        events, url, instants = scenario.events, stack.moto_url, scenario.instants
        found.update(measure(stack.runtime, events, url, 0, _quiet, where=where, instants=instants))

    play(record)
    report = {f: {"calls": s.calls, "pydantic": s.pydantic} for f, s in sorted(found.items())}
    print(json.dumps({"measured_on": where.describe(), "functions": report}))
    return 0


def _quiet(text: str, flush: bool = True) -> None:
    print(text, file=sys.stderr, flush=flush)


if __name__ == "__main__":
    sys.exit(main())
