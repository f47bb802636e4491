"""Mutation testing of the core modules: change one thing in the code, run the tests that cover it.

`make mutation` copies the checkout to a scratch folder (never the working tree), runs the unit and
integration tests once under coverage to learn which tests run each line, then for every mutant
rewrites one site of a target module in place in its scratch copy and runs only the tests covering
that line (fastest and most recent killers first, stopping at the first failure) under a timeout.
A mutant no test notices survives. Equivalent mutants (tests/mutation_equivalents.txt) are left
out of the score. mutmut copies only the mutated file and cannot follow the editable install of
crm_core (layers/crm_core/crm_core), hence this small runner.

Operators: comparison flips, and/or (and & | on condition expressions), `not` removal, constant
changes (True/False, number +1/-1), a keyword argument dropped from a call, a call dropped from a
list (update actions), a statement replaced by `pass`, a returned value replaced by None. Log lines
and code under `if TYPE_CHECKING:` are not mutated.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER = Path("layers/crm_core")  # crm_core/... lives here; the editable install maps it
TARGETS = (
    "crm_core/messaging/ledger.py",
    "crm_core/messaging/delivery.py",
    "crm_core/loyalty/ledger.py",
    "crm_core/leads/merge.py",
)
OPTIONAL = ("crm_core/cases/intake.py",)  # --module crm_core/cases/intake.py: another ~20 minutes
TEST_PATHS = ("tests/unit", "tests/integration")
EQUIVALENTS = Path("tests/mutation_equivalents.txt")
RESULTS = ROOT / "build" / "mutation-results.json"  # the last run's outcome per mutant
LOG_METHODS = frozenset({"debug", "info", "warning", "error", "exception", "critical"})
STARTUP_SECONDS = 40  # a pytest process with moto, before its first test; the timeout adds it
# The AWS services the stack's tests call (template.yaml's resources): their models are read once.
WARM_SERVICES = (
    "dynamodb",
    "ses",
    "sesv2",
    "sqs",
    "sns",
    "s3",
    "secretsmanager",
    "scheduler",
    "events",
    "sts",
)
FIRST_BATCH = 6  # tests run first for each mutant; the rest of its tests only if these all pass
SLOWDOWN = 3  # a mutant may run this many times slower than the unmutated tests before it times out

_FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}


@dataclass(frozen=True)
class Mutant:
    """One change: the byte span [start, end) of the module's source replaced by `text`."""

    module: str  # e.g. crm_core/messaging/ledger.py
    line: int
    description: str
    start: int
    end: int
    text: str
    lines: tuple[int, ...]  # the lines whose tests must run (the enclosing statement)
    import_time: bool  # evaluated when the module is imported: every test of the module runs it

    @property
    def key(self) -> tuple[str, int, str]:
        return self.module, self.line, self.description

    def apply(self, source: bytes) -> bytes:
        return source[: self.start] + self.text.encode() + source[self.end :]


@dataclass
class Result:
    mutant: Mutant
    status: str  # killed, timeout, survived, uncovered, equivalent
    seconds: float = 0.0
    killer: str | None = None


# ---- generating mutants ------------------------------------------------------------------------
def _short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _is_log_call(node: ast.stmt) -> bool:
    """`log.info(...)`, `get_logger().warning(...)`: what a line says is not behaviour to pin."""
    if not isinstance(node, ast.Expr) or not isinstance(node.value, ast.Call):
        return False
    func = node.value.func
    return isinstance(func, ast.Attribute) and func.attr in LOG_METHODS and "log" in ast.unparse(func.value)


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _header_end(stmt: ast.stmt) -> int:
    """The last line to look up in coverage for a statement: a compound one up to its first body line."""
    body = getattr(stmt, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
        return body[0].lineno
    return stmt.end_lineno or stmt.lineno


class _Generator:
    def __init__(self, module: str, source: bytes) -> None:
        self.module = module
        self.source = source
        self.tree = ast.parse(source)
        self.offsets = [0]
        for line in source.splitlines(keepends=True):
            self.offsets.append(self.offsets[-1] + len(line))
        self.mutants: list[Mutant] = []

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offsets[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        end = self.offsets[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
        return start, end

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.source[start:end].decode()

    def add(
        self, node: ast.AST, stmt: ast.stmt, text: str, description: str, *, import_time: bool, line: int = 0
    ) -> None:
        """Replace `node` by `text`; `line` (the node's own by default) is where the report points."""
        start, end = self.span(node)
        lines = tuple(range(stmt.lineno, _header_end(stmt) + 1))
        at = line or node.lineno  # type: ignore[attr-defined]
        self.mutants.append(Mutant(self.module, at, description, start, end, text, lines, import_time))

    def run(self) -> list[Mutant]:
        self.block(self.tree.body, in_function=False)
        seen: Counter[tuple[str, int, str]] = Counter()
        unique: list[Mutant] = []
        for mutant in self.mutants:  # two equal changes on one line get told apart
            seen[mutant.key] += 1
            if seen[mutant.key] > 1:
                numbered = f"{mutant.description} #{seen[mutant.key]}"
                unique.append(Mutant(**{**mutant.__dict__, "description": numbered}))
            else:
                unique.append(mutant)
        return unique

    def block(self, body: Sequence[ast.stmt], *, in_function: bool) -> None:
        for index, stmt in enumerate(body):
            last = index == len(body) - 1
            self.statement(stmt, in_function=in_function, last=last)

    def statement(self, stmt: ast.stmt, *, in_function: bool, last: bool) -> None:
        if _is_left_alone(stmt):
            return
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            self.function(stmt)
            return
        if isinstance(stmt, ast.ClassDef):
            self.block(stmt.body, in_function=False)
            return
        if in_function:
            self.delete(stmt, last=last)
            self.return_none(stmt)
        self.children(stmt, in_function=in_function)

    def function(self, stmt: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """Its defaults (evaluated at import) and its body."""
        for default in [*stmt.args.defaults, *[d for d in stmt.args.kw_defaults if d is not None]]:
            self.expression(default, stmt, import_time=True)
        self.block(stmt.body, in_function=True)

    def return_none(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Return) and stmt.value is not None and not _is_none(stmt.value):
            text = f"return None instead of `{_short(self.segment(stmt.value))}`"
            self.add(stmt.value, stmt, "None", text, import_time=False)

    def children(self, stmt: ast.stmt, *, in_function: bool) -> None:
        """The expressions of a statement (not its annotations) and the blocks inside it."""
        for name, value in ast.iter_fields(stmt):
            if name in {"annotation", "returns", "type_comment"}:
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.expr):
                    self.expression(child, stmt, import_time=not in_function)
                elif isinstance(child, ast.ExceptHandler):
                    if child.type is not None:
                        self.expression(child.type, stmt, import_time=not in_function)
                    self.block(child.body, in_function=in_function)
            if name in {"body", "orelse", "finalbody"} and isinstance(value, list):
                self.block(value, in_function=in_function)

    def delete(self, stmt: ast.stmt, *, last: bool) -> None:
        if isinstance(stmt, ast.Pass):
            return
        if isinstance(stmt, ast.Return) and last:
            return  # deleting the last return is the same change as returning None
        first_line = self.segment(stmt).splitlines()[0]
        self.add(stmt, stmt, "pass", f"delete `{_short(first_line)}`", import_time=False)

    def expression(self, node: ast.expr, stmt: ast.stmt, *, import_time: bool) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Compare):
                self.compare(sub, stmt, import_time=import_time)
            elif isinstance(sub, ast.Constant):
                self.constant(sub, stmt, import_time=import_time)
            elif isinstance(sub, ast.Call):
                self.keywords(sub, stmt, import_time=import_time)
            elif isinstance(sub, ast.List) and len(sub.elts) > 1:
                self.elements(sub, stmt, import_time=import_time)
            elif isinstance(sub, ast.expr) and (swapped := _swapped(sub)) is not None:
                self.replace(sub, swapped, stmt, import_time=import_time)

    def replace(self, old: ast.expr, new: ast.expr, stmt: ast.stmt, *, import_time: bool) -> None:
        text = f"({ast.unparse(new)})"
        description = f"`{_short(self.segment(old))}` -> `{_short(ast.unparse(new))}`"
        self.add(old, stmt, text, description, import_time=import_time)

    def compare(self, node: ast.Compare, stmt: ast.stmt, *, import_time: bool) -> None:
        for index, op in enumerate(node.ops):
            flipped = _FLIPS.get(type(op))
            if flipped is None:
                continue
            ops = [*node.ops[:index], flipped(), *node.ops[index + 1 :]]
            self.replace(node, ast.Compare(node.left, ops, node.comparators), stmt, import_time=import_time)

    def constant(self, node: ast.Constant, stmt: ast.stmt, *, import_time: bool) -> None:
        value = node.value
        if isinstance(value, bool):
            self.replace(node, ast.Constant(not value), stmt, import_time=import_time)
        elif isinstance(value, int | float):
            for changed in dict.fromkeys([value + 1, value - 1] if value else [1]):
                self.replace(node, ast.Constant(changed), stmt, import_time=import_time)

    def keywords(self, call: ast.Call, stmt: ast.stmt, *, import_time: bool) -> None:
        for keyword in call.keywords:
            if keyword.arg is None:
                continue
            kept = [k for k in call.keywords if k is not keyword]
            new = ast.Call(call.func, call.args, kept)
            description = f"drop `{keyword.arg}=` from `{_short(ast.unparse(call.func))}(...)`"
            self.add(call, stmt, f"({ast.unparse(new)})", description, import_time=import_time)

    def elements(self, node: ast.List, stmt: ast.stmt, *, import_time: bool) -> None:
        """A list of calls (update actions, say) without one of them."""
        for element in node.elts:
            if isinstance(element, ast.Call):
                kept = ast.List([e for e in node.elts if e is not element])
                description = f"drop `{_short(self.segment(element))}` from a list"
                text = f"({ast.unparse(kept)})"
                self.add(node, stmt, text, description, import_time=import_time, line=element.lineno)


def _swapped(node: ast.expr) -> ast.expr | None:
    """and <-> or, & <-> |, `not x` -> x; None for any other node."""
    if isinstance(node, ast.BoolOp):
        return ast.BoolOp(op=ast.Or() if isinstance(node.op, ast.And) else ast.And(), values=node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd | ast.BitOr):
        return ast.BinOp(
            node.left, ast.BitOr() if isinstance(node.op, ast.BitAnd) else ast.BitAnd(), node.right
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return node.operand
    return None


def _is_left_alone(stmt: ast.stmt) -> bool:
    """Docstrings, imports, `if TYPE_CHECKING:` blocks and log lines are not mutated."""
    return (
        isinstance(stmt, ast.Import | ast.ImportFrom)
        or _is_docstring(stmt)
        or _is_type_checking(stmt)
        or _is_log_call(stmt)
    )


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def mutants_of(root: Path, module: str) -> list[Mutant]:
    """Every mutant of one target module (path relative to the layer), each checked to compile."""
    source = (root / LAYER / module).read_bytes()
    found = []
    for mutant in _Generator(module, source).run():
        try:
            compile(mutant.apply(source), module, "exec")
        except SyntaxError as exc:  # a generator bug, never a reason to score
            raise AssertionError(f"{module}:{mutant.line} {mutant.description} does not compile") from exc
        found.append(mutant)
    return found


# ---- equivalent mutants ------------------------------------------------------------------------
def read_equivalents(path: Path) -> dict[tuple[str, int, str], str]:
    """`module:line | mutation | reason` per line (# comments and blank lines ignored)."""
    entries: dict[tuple[str, int, str], str] = {}
    if not path.exists():
        return entries
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        location, _, rest = raw.partition(" | ")
        mutation, _, reason = rest.rpartition(" | ")  # a mutation may contain " | " itself, a reason not
        if not mutation or not reason or ":" not in location:
            raise SystemExit(f"{path}:{number}: expected `module:line | mutation | reason`")
        module, _, line = location.strip().rpartition(":")
        entries[module, int(line), mutation.strip()] = reason.strip()
    return entries


# ---- the scratch copy and coverage -------------------------------------------------------------
def make_scratch(parent: Path) -> Path:
    """The checkout as it is now (tracked and new files, uncommitted changes too) under `parent`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607 - git from PATH, as the developer runs it
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    copy = parent / "copy-0"
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return copy


def environment(copy: Path) -> dict[str, str]:
    """crm_core and the project imported from the scratch copy, ahead of the editable install."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(copy), str(copy / LAYER)])
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@dataclass
class CoverageMap:
    durations: dict[str, float]  # nodeid -> seconds, tests that passed unmutated
    lines: dict[str, dict[int, list[str]]]  # module -> line -> nodeids ("" while importing)
    warm: list[str]  # third-party modules the tests import: loaded once, before forking
    failing: list[str]  # tests that failed without any mutant

    @classmethod
    def load(cls, path: Path) -> CoverageMap:
        data = json.loads(path.read_text())
        return cls(
            durations={t: d for t, d in data["durations"].items() if data["passed"].get(t)},
            lines={m: {int(n): tests for n, tests in lines.items()} for m, lines in data["lines"].items()},
            warm=data["warm"],
            failing=[test for test, ok in data["passed"].items() if not ok],
        )

    def tests_for(self, mutant: Mutant) -> list[str]:
        by_line = self.lines.get(mutant.module, {})
        if mutant.import_time:
            wanted = {test for tests in by_line.values() for test in tests}
        else:
            wanted = {test for line in mutant.lines for test in by_line.get(line, [])}
        return [test for test in wanted if test in self.durations]


def collect(copy: Path, modules: Sequence[str], tests: Sequence[str]) -> CoverageMap:
    """Run the tests once in the scratch copy under coverage, one context per test."""
    out = copy.parent / "coverage.json"
    command = [sys.executable, "-m", "infra.mutation", "_collect", str(out), ",".join(modules), *tests]
    print(f"coverage: running {' '.join(tests)} once in {copy} ...", flush=True)
    started = time.monotonic()
    done = subprocess.run(command, cwd=copy, env=environment(copy), check=False)  # noqa: S603 - our own interpreter and module, no shell
    if done.returncode not in {0, 1}:
        raise SystemExit(f"the coverage run failed (exit {done.returncode})")
    cov = CoverageMap.load(out)
    print(f"coverage: {len(cov.durations)} passing tests in {time.monotonic() - started:.0f} s", flush=True)
    if cov.failing:
        print(
            f"coverage: {len(cov.failing)} tests fail unmutated and are not used: {cov.failing}", flush=True
        )
    return cov


def _collect_main(out: Path, modules: list[str], tests: list[str]) -> int:
    """In the scratch copy: pytest under coverage, one dynamic context per test."""
    import coverage
    import pytest

    layer = Path.cwd() / LAYER
    cov = coverage.Coverage(data_file=None, include=[str(layer / m) for m in modules], config_file=False)
    durations: dict[str, float] = {}
    passed: dict[str, bool] = {}

    class Contexts:
        @pytest.hookimpl(wrapper=True)
        def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
            cov.switch_context(item.nodeid)
            started = time.monotonic()
            try:
                return (yield)
            finally:
                durations[item.nodeid] = time.monotonic() - started
                cov.switch_context("")

        def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
            ok = not report.failed and not (report.when == "call" and report.skipped)
            passed[report.nodeid] = passed.get(report.nodeid, True) and ok

    cov.start()
    code = pytest.main([*tests, "-q", "-p", "no:cacheprovider", "--no-header"], plugins=[Contexts()])
    cov.stop()
    data = cov.get_data()
    lines: dict[str, dict[int, list[str]]] = {}
    for module in modules:
        path = str(layer / module)
        if path in data.measured_files():
            lines[module] = {n: sorted(c) for n, c in data.contexts_by_lineno(path).items()}
    here = str(Path.cwd())
    warm = sorted(
        name
        for name, module in list(sys.modules.items())
        if name != "__main__"
        and not str(getattr(module, "__file__", None) or here).startswith(here)
        and not name.startswith(("handler_", "crm_core", "infra", "tests", "functions", "conftest"))
    )
    out.write_text(json.dumps({"durations": durations, "passed": passed, "lines": lines, "warm": warm}))
    return int(code)


def _pytest_main(ids_file: Path, killer_file: Path) -> int:
    """In a scratch copy: run the listed tests in their order, stop at the first failure."""
    import pytest

    wanted = ids_file.read_text().splitlines()
    order = {nodeid: index for index, nodeid in enumerate(wanted)}

    class Select:
        def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
            keep = sorted((i for i in items if i.nodeid in order), key=lambda i: order[i.nodeid])
            config.hook.pytest_deselected(items=[i for i in items if i.nodeid not in order])
            items[:] = keep

        def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
            if report.failed and not killer_file.exists():
                killer_file.write_text(report.nodeid)

    files = list(dict.fromkeys(nodeid.split("::")[0] for nodeid in wanted))
    args = [*files, "-x", "-q", "-p", "no:cacheprovider", "--no-header", "-o", "addopts=", "--tb=no"]
    return int(pytest.main(args, plugins=[Select()]))


def _share_botocore_loader() -> None:
    """Every botocore session of a forked test run uses one loader, warmed here: reading the
    service models is most of a test's setup (each session reads them again), and they never change."""
    import botocore.exceptions
    import botocore.loaders
    import botocore.session

    loader = botocore.loaders.create_loader()
    for service in WARM_SERVICES:
        for kind in ("service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2"):
            try:
                loader.load_service_model(service, kind)
            except botocore.exceptions.DataNotFoundError:
                continue
    for name in ("endpoints", "partitions", "_retry", "sdk-default-configuration"):
        loader.load_data(name)
    botocore.session.create_loader = lambda search_path_string=None: loader


def _serve(warm_file: Path) -> int:
    """In a scratch copy: import the tests' third-party modules once, then fork one pytest per request.

    A request is a line `ids_file<TAB>killer_file<TAB>timeout`; the answer a line `answer: <exit code>`
    or `answer: timeout`. Nothing of the project is imported here, so each child loads the mutated code.
    """
    import importlib
    import signal
    import warnings

    # hypothesis warns when its plugin touches storage while imported; here that is the point.
    warnings.filterwarnings("ignore", message="Slow code in plugin")
    for name in warm_file.read_text().split():
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001, S112 - a module that does not import alone is not warmed
            continue
    _share_botocore_loader()
    for request in sys.stdin:
        ids, killer, timeout = request.rstrip("\n").split("\t")
        pid = os.fork()
        if pid == 0:  # the child: its own process group, silent, and never back into this loop
            code = 3
            try:
                os.setpgid(0, 0)
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                code = _pytest_main(Path(ids), Path(killer))
            finally:
                os._exit(code)
        deadline = time.monotonic() + float(timeout)
        answer = "timeout"
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                answer = str(os.waitstatus_to_exitcode(status))
                break
            time.sleep(0.02)
        else:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        print(f"answer: {answer}", flush=True)
    return 0


# ---- running mutants ---------------------------------------------------------------------------
@dataclass
class Worker:
    """A scratch copy and the fork server that runs tests in it."""

    copy: Path
    server: subprocess.Popen[str]

    @classmethod
    def start(cls, copy: Path, warm: list[str]) -> Worker:
        warm_file = copy.parent / f"{copy.name}.warm.txt"
        warm_file.write_text("\n".join(warm))
        env = environment(copy) | {"PYTHONDONTWRITEBYTECODE": "1"}
        command = [sys.executable, "-m", "infra.mutation", "_serve", str(warm_file)]
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            command, cwd=copy, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        return cls(copy, server)

    def run_tests(self, ids: Path, killer: Path, timeout: float) -> str:
        assert self.server.stdin is not None and self.server.stdout is not None  # noqa: S101 - narrows the type; Popen was given both pipes
        self.server.stdin.write(f"{ids}\t{killer}\t{timeout}\n")
        self.server.stdin.flush()
        for line in self.server.stdout:
            if line.startswith("answer: "):
                return line.removeprefix("answer: ").strip()
        raise RuntimeError(f"the test server of {self.copy} stopped")

    def stop(self) -> None:
        assert self.server.stdin is not None  # noqa: S101 - narrows the type; Popen was given stdin=PIPE
        self.server.stdin.close()
        self.server.wait()


class Runner:
    def __init__(self, workers: list[Worker], cov: CoverageMap) -> None:
        self.free: queue.Queue[Worker] = queue.Queue()
        for worker in workers:
            self.free.put(worker)
        self.cov = cov
        self.killers: dict[str, Counter[str]] = defaultdict(Counter)
        self.lock = threading.Lock()

    def order(self, mutant: Mutant, tests: list[str]) -> list[str]:
        """Tests that killed mutants of this module first, then file by file (a forked run collects
        only the files it runs), the file with the fastest test first, fastest first within a file."""
        with self.lock:
            killers = Counter(self.killers[mutant.module])
        duration = self.cov.durations
        fastest: dict[str, float] = {}
        for test in tests:
            file = test.split("::")[0]
            fastest[file] = min(fastest.get(file, duration[test]), duration[test])
        return sorted(
            tests, key=lambda t: (-killers[t], fastest[t.split("::")[0]], t.split("::")[0], duration[t])
        )

    def run(self, mutant: Mutant) -> Result:
        """Most mutants die in the first few tests: run those first (collecting a file or two), the
        rest only when they all pass."""
        tests = self.cov.tests_for(mutant)
        if not tests:
            return Result(mutant, "uncovered")
        tests = self.order(mutant, tests)
        started = time.monotonic()
        for batch in (tests[:FIRST_BATCH], tests[FIRST_BATCH:]):
            if not batch:
                continue
            answer, killer = self.run_batch(mutant, batch)
            if answer == "timeout":
                return Result(mutant, "timeout", time.monotonic() - started)
            if answer != "0":
                if killer is not None:
                    with self.lock:
                        self.killers[mutant.module][killer] += 1
                return Result(mutant, "killed", time.monotonic() - started, killer=killer)
        return Result(mutant, "survived", time.monotonic() - started)

    def run_batch(self, mutant: Mutant, tests: list[str]) -> tuple[str, str | None]:
        """The fork server's answer for these tests against the mutant, and the first test that failed."""
        timeout = STARTUP_SECONDS + SLOWDOWN * sum(self.cov.durations[t] for t in tests)
        worker = self.free.get()
        path = worker.copy / LAYER / mutant.module
        original = path.read_bytes()
        work = Path(tempfile.mkdtemp(dir=worker.copy.parent))
        ids, killer = work / "ids.txt", work / "killer.txt"
        ids.write_text("\n".join(tests))
        try:
            path.write_bytes(mutant.apply(original))
            answer = worker.run_tests(ids, killer, timeout)
        finally:
            path.write_bytes(original)
            self.free.put(worker)
        name = killer.read_text() if killer.exists() else None
        shutil.rmtree(work, ignore_errors=True)
        return answer, name


def save(results: list[Result], path: Path) -> None:
    path.parent.mkdir(exist_ok=True)
    rows = [
        {"module": r.mutant.module, "line": r.mutant.line, "description": r.mutant.description}
        | {"status": r.status, "seconds": round(r.seconds, 1), "killer": r.killer}
        for r in results
    ]
    path.write_text(json.dumps(rows, indent=1))


def rescore(path: Path, mutants: list[Mutant], equivalents: dict[tuple[str, int, str], str]) -> list[Result]:
    """A saved run's results for today's mutants, with today's equivalents left out of the score
    (a mutant the run did not see is reported as a survivor: run it)."""
    saved = {(r["module"], r["line"], r["description"]): r for r in json.loads(path.read_text())}
    results = []
    for mutant in mutants:
        row = saved.get(mutant.key, {"status": "survived", "seconds": 0.0, "killer": None})
        status = "equivalent" if mutant.key in equivalents else row["status"]
        results.append(Result(mutant, status, row["seconds"], row["killer"]))
    return results


# ---- the report --------------------------------------------------------------------------------
def report(results: list[Result], modules: Sequence[str], stale: list[tuple[str, int, str]]) -> str:
    out: list[str] = []
    columns = ("mutants", "killed", "timeout", "survived", "equiv")
    header = f"{'module':34} " + " ".join(f"{c:>8}" for c in columns) + f" {'score':>6}"
    out += [header, "-" * len(header)]
    out += [_score_line(module, [r for r in results if r.mutant.module == module]) for module in modules]
    out += _survivor_lines(results)
    if stale:
        out += ["", f"Entries of {EQUIVALENTS} that match no mutant (moved or gone?):"]
        out += [f"  {module}:{line} | {description}" for module, line, description in stale]
    return "\n".join(out)


def _score_line(module: str, mine: list[Result]) -> str:
    by = Counter(r.status for r in mine)
    survived = by["survived"] + by["uncovered"]
    scored = len(mine) - by["equivalent"]
    score = 100 * (by["killed"] + by["timeout"]) / scored if scored else 100.0
    return (
        f"{module.removeprefix('crm_core/'):34} {len(mine):8} {by['killed']:8} {by['timeout']:8} "
        f"{survived:8} {by['equivalent']:8} {score:5.1f}%"
    )


def _survivor_lines(results: list[Result]) -> list[str]:
    survivors = [r for r in results if r.status in {"survived", "uncovered"}]
    if not survivors:
        return []
    out = ["", "Survivors (no test failed):"]
    for r in sorted(survivors, key=lambda r: (r.mutant.module, r.mutant.line, r.mutant.description)):
        note = "  [no test runs this line]" if r.status == "uncovered" else ""
        out.append(f"  {LAYER / r.mutant.module}:{r.mutant.line}  {r.mutant.description}{note}")
    return out


def changed_lines(ref: str, module: str) -> set[int]:
    """Line numbers of `module` (as it is now) that were added or changed since git `ref`."""
    diff = subprocess.run(  # noqa: S603 - git's argv is ours, no shell
        ["git", "diff", "-U0", ref, "--", str(LAYER / module)],  # noqa: S607 - git from PATH, as the developer runs it
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    lines: set[int] = set()
    for hunk in re.finditer(r"^@@ -\S+ \+(\d+)(?:,(\d+))? @@", diff, flags=re.M):
        start, count = int(hunk.group(1)), int(hunk.group(2) or 1)
        lines.update(range(start, start + count))
    return lines


def parse_args(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.mutation", description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("-j", "--jobs", type=int, default=2, help="mutants run in parallel (default 2)")
    add("--module", action="append", choices=TARGETS + OPTIONAL, help="only this target (repeatable)")
    add("--tests", nargs="+", default=list(TEST_PATHS), help="test paths to map coverage from")
    add("--line", type=int, action="append", help="only mutants on this line (repeatable)")
    add("--since", metavar="REF", help="only mutants on lines changed since this git ref (a review's scope)")
    add("-v", "--verbose", action="store_true", help="print every mutant's outcome")
    add("--list", action="store_true", help="print the mutants and stop")
    add("--rescore", type=Path, help=f"report a saved run ({RESULTS}) with today's equivalents file")
    add("--coverage", type=Path, help="reuse the coverage map a run saved (build/mutation-coverage.json)")
    return parser.parse_args(args)


def progress(done: int, total: int, result: Result, *, verbose: bool, started: float) -> None:
    m = result.mutant
    if result.status in {"survived", "uncovered"}:
        print(f"  [{done}/{total}] survived {m.module}:{m.line} {m.description}", flush=True)
    elif verbose:
        print(
            f"  [{done}/{total}] {result.status} in {result.seconds:.1f} s {m.line} {m.description}",
            flush=True,
        )
    elif done % 25 == 0:
        print(f"  [{done}/{total}] {time.monotonic() - started:.0f} s", flush=True)


def run(options: argparse.Namespace, mutants: list[Mutant], started: float) -> list[Result]:
    """Coverage once in a scratch copy, then every mutant not listed as equivalent."""
    modules = list(options.module or TARGETS)
    equivalents = read_equivalents(ROOT / EQUIVALENTS)
    with tempfile.TemporaryDirectory(prefix="crm-mutation-") as scratch:
        copies = [make_scratch(Path(scratch))]
        cov = _coverage(options, copies[0], modules)
        for n in range(1, max(1, options.jobs)):
            copies.append(Path(shutil.copytree(copies[0], Path(scratch) / f"copy-{n}", symlinks=True)))
        workers = [Worker.start(copy, cov.warm) for copy in copies]
        runner = Runner(workers, cov)
        todo = [m for m in mutants if m.key not in equivalents]
        results = [Result(m, "equivalent") for m in mutants if m.key in equivalents]
        print(
            f"{len(mutants)} mutants, {len(results)} listed as equivalent, {len(copies)} at a time",
            flush=True,
        )
        with ThreadPoolExecutor(max_workers=len(copies)) as pool:
            for done, result in enumerate(pool.map(runner.run, todo), 1):
                results.append(result)
                progress(done, len(todo), result, verbose=options.verbose, started=started)
        for worker in workers:
            worker.stop()
    return results


def _selected(options: argparse.Namespace, modules: list[str]) -> list[Mutant]:
    """The mutants of the modules, narrowed to --line and --since when given."""
    mutants = [m for module in modules for m in mutants_of(ROOT, module)]
    if options.line:
        mutants = [m for m in mutants if m.line in options.line]
    if options.since:
        changed = {module: changed_lines(options.since, module) for module in modules}
        mutants = [m for m in mutants if m.line in changed[m.module]]
    return mutants


def _coverage(options: argparse.Namespace, scratch: Path, modules: list[str]) -> CoverageMap:
    """The coverage map (the saved one with --coverage, else collected and saved), with the targets'
    compiled files removed from `scratch`: mutants are compiled from source, always."""
    if options.coverage:
        cov = CoverageMap.load(options.coverage)
    else:
        cov = collect(scratch, modules, options.tests)
        saved = ROOT / "build" / "mutation-coverage.json"
        saved.parent.mkdir(exist_ok=True)
        shutil.copy(scratch.parent / "coverage.json", saved)
    for path in (scratch / LAYER / m for m in modules):
        for cached in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
            cached.unlink()
    return cov


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "_collect":
        return _collect_main(Path(args[1]), args[2].split(","), args[3:])
    if args and args[0] == "_serve":
        return _serve(Path(args[1]))
    options = parse_args(args)
    modules = list(options.module or TARGETS)
    started = time.monotonic()
    mutants = _selected(options, modules)
    if options.list:
        for m in mutants:
            print(f"{LAYER / m.module}:{m.line}  {m.description}")
        print(f"{len(mutants)} mutants")
        return 0
    _score(options, modules, mutants, started)
    return 0


def _score(options: argparse.Namespace, modules: list[str], mutants: list[Mutant], started: float) -> None:
    """Run the mutants (or rescore a saved run) and print the report."""
    keys = {m.key for m in mutants}
    equivalents = read_equivalents(ROOT / EQUIVALENTS)
    narrowed = bool(options.line or options.since)
    stale = [key for key in equivalents if key[0] in modules and key not in keys and not narrowed]
    if options.rescore:
        results = rescore(options.rescore, mutants, equivalents)
    else:
        results = run(options, mutants, started)
        save(results, RESULTS)
    print()
    print(report(results, modules, stale))
    if not options.rescore:
        print(f"\n{len(mutants)} mutants in {(time.monotonic() - started) / 60:.1f} min")


if __name__ == "__main__":
    sys.exit(main())
