"""Every shell snippet of the README and of the docs it links runs, against a local stack started here,
and shows what the doc says it shows (the convention: CONTRIBUTING.md, "Snippets in the docs").

The snippets run as a reader runs them after `make up`: from a checkout (a scratch directory linking to
this one, so files they write land there), with `CRM_ENDPOINT` naming the stack, no AWS variables, and
no `.venv/bin` on PATH (the docs say `.venv/bin/crm`). Docs run in the order a reader meets them from
the README, all on one stack, so a doc may use what an earlier snippet of it created.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.client import LocalClient
from infra.template import ROOT, Template
from tests.snippets import Block, linked_docs, missing_lines, shell_blocks

pytestmark = pytest.mark.e2e

DOCS = linked_docs(ROOT / "README.md")
SEPARATOR = "@@docs-snippet-step-"
FIXED_PORT = re.compile(r"(localhost|127\.0\.0\.1):3000\b")
SNIPPET_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def reader_environment() -> dict[str, str]:
    """What a reader's shell has: taken before the stack puts moto's endpoint and the template's
    variables into this process's environment, and without the tests' fake AWS credentials."""
    template_variables = set(Template().environment())
    venv_bin = str(ROOT / ".venv" / "bin")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "CRM_")) and name not in template_variables | {"VIRTUAL_ENV"}
    }
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return env


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch directory that links to every top-level entry of the repository."""
    scratch = tmp_path_factory.mktemp("checkout")
    for entry in ROOT.iterdir():
        if entry.name != ".git":
            (scratch / entry.name).symlink_to(entry)
    return scratch


@pytest.fixture(scope="module")
def snippet_runner(reader_environment: dict[str, str], local_stack: LocalClient) -> Iterator[dict[str, str]]:
    yield {**reader_environment, "CRM_ENDPOINT": local_stack.base_url}


def run(block: Block, env: dict[str, str], cwd: Path) -> list[str]:
    """Run one block; the problems found, each a sentence naming the block."""
    if FIXED_PORT.search(block.text):
        return [f"{block.where}: names port 3000; use $CRM_ENDPOINT so the snippet runs on any port"]
    steps = block.commands()
    script = "\n".join(f"printf '\\n{SEPARATOR}{i}\\n'\n{command}" for i, (command, _) in enumerate(steps))
    try:
        done = subprocess.run(  # the docs' own snippets, run on purpose
            ["bash", "-e", "-o", "pipefail", "-c", script],  # noqa: S607 - bash from PATH, as a reader runs the docs
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=SNIPPET_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return [f"{block.where}: still running after {SNIPPET_TIMEOUT_SECONDS} s"]
    outputs = re.split(rf"\n?{SEPARATOR}\d+\n", done.stdout)[1:]
    output = "".join(outputs)
    tail = "\n    ".join(output.strip().splitlines()[-25:])
    problems = []
    if done.returncode != block.exit_status:
        problems.append(f"{block.where}: exit status {done.returncode}, expected {block.exit_status}")
    if len(outputs) < len(steps):
        problems.append(f"{block.where}: ran {len(outputs)} of its {len(steps)} commands")
    problems += [f"{block.where}: does not print {text!r}" for text in block.expects if text not in output]
    for (command, shown), shown_output in zip(steps, outputs, strict=False):
        problems += [
            f"{block.where}: `{command.splitlines()[0]}` does not show {line.strip()!r}"
            for line in missing_lines(shown, shown_output)
        ]
    if problems:
        problems.append(f"{block.where}: its output was:\n    {tail}")
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_unmarked_snippet_of_the_doc_runs_and_shows_what_it_says(
    doc: Path, snippet_runner: dict[str, str], checkout: Path
) -> None:
    snippets = list(shell_blocks([doc]))

    problems = [
        problem
        for block in snippets
        if block.not_run is None
        for problem in run(block, snippet_runner, checkout)
    ]

    assert not problems, "\n".join(problems)


def test_every_doc_of_docs_is_reached_from_the_readme() -> None:
    # A doc nobody links is a doc whose snippets the test above never runs.
    unlinked = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md") if p not in DOCS)
    assert not unlinked, f"not linked from README.md or a doc it links: {unlinked}"


def test_the_docs_have_snippets_the_test_runs() -> None:
    snippets = list(shell_blocks(DOCS))
    assert len([b for b in snippets if b.not_run is None]) >= 15, "fewer runnable snippets than expected"


def test_the_runner_reports_wrong_output_a_failing_command_and_a_fixed_port(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "```console\n$ echo hello\ngoodbye\n```\n\n"
        "```console\n$ false\n$ echo never\nnever\n```\n\n"
        "```sh\ncurl -s localhost:3000/_local\n```\n\n"
        "```sh\necho ok\nexit 1\n```\n<!-- exit: 1 -->\n<!-- expect: ok -->\n",
        encoding="utf-8",
    )
    env = {"PATH": os.environ["PATH"]}

    wrong, failing, fixed_port, expected_failure = (run(b, env, tmp_path) for b in shell_blocks([doc]))

    assert "doc.md:1: `echo hello` does not show 'goodbye'" in wrong
    assert "doc.md:6: exit status 1, expected 0" in failing
    assert "doc.md:6: ran 1 of its 2 commands" in failing
    assert fixed_port == ["doc.md:12: names port 3000; use $CRM_ENDPOINT so the snippet runs on any port"]
    assert expected_failure == []
