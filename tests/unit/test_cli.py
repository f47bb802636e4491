"""`crm`: every command's error path is one sentence with the documented exit code, never a traceback,
and every command's options are the ones docs/cli.md documents.

The commands are found from the parser itself, so a new sub-command is covered without editing this
file (its positional arguments get the sample values below, or "x").
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.cli import build_parser, main
from infra.commands import target

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "cli.md"
NOBODY = "http://127.0.0.1:9"  # the discard port: no stack listens there
STARTS_A_STACK = {"local up", "demo"}  # they start a stack (--port); exercised by the e2e tests
NO_TARGET = {"openapi"}  # generated from the code: nothing to reach
SAMPLES = {"email": "ana@example.com", "points": "5", "campaign": "welcome", "case_id": "C-000001"}
LOCAL_ONLY = {"outbox"}  # a deployed stack has no outbox: refused as usage (2)
DEPLOYED_ONLY = {"smoke"}  # the local stack is not what it checks: refused as usage (2)


def leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """(command words, parser) of every runnable sub-command."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield " ".join(path), parser
        return
    for name, child in subs[0].choices.items():
        yield from leaves(child, (*path, name))


COMMANDS = dict(leaves(build_parser()))
TARGETED = sorted(set(COMMANDS) - STARTS_A_STACK - NO_TARGET)


def argv_for(command: str, tmp_path: Path) -> list[str]:
    """The command with made-up but well-formed arguments: what a user types before the target fails."""
    parser = COMMANDS[command]
    argv = command.split()
    for action in parser._actions:
        if action.option_strings or action.dest in {"help"}:
            continue
        if action.dest == "file":
            csv_file = tmp_path / "leads.csv"
            csv_file.write_text("email\nana@example.com\n", encoding="utf-8")
            argv.append(str(csv_file))
        else:
            argv.append(SAMPLES.get(action.dest, "x"))
    for action in parser._actions:
        if action.required and action.option_strings:
            argv += [action.option_strings[-1], "x"]
    for group in parser._mutually_exclusive_groups:
        if group.required:
            argv += [group._group_actions[0].option_strings[-1], "ana@example.com"]
    return argv


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_") and name not in {"AWS_REGION", "AWS_DEFAULT_REGION"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role lookup over the network


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("crm: ")
    return lines[0]


def test_the_commands_are_found() -> None:
    assert {"points adjust", "contacts import", "campaigns status", "cases show", "outbox"} <= set(TARGETED)


@pytest.mark.parametrize("command", TARGETED)
def test_without_a_running_local_stack_every_command_says_to_start_one(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*argv_for(command, tmp_path), "--endpoint", NOBODY])

    out, err = capsys.readouterr()
    line = one_line(err)
    if command in DEPLOYED_ONLY:
        assert code == target.EXIT_USAGE and "--stack NAME" in line
        return
    assert code == target.EXIT_UNREACHABLE, line
    assert line.startswith(f"crm: no local stack answers at {NOBODY}") and "`make up`" in line
    assert out == ""


@pytest.mark.parametrize("command", TARGETED)
def test_without_aws_credentials_every_command_says_how_to_get_them(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_aws_credentials: None
) -> None:
    code = main([*argv_for(command, tmp_path), "--stack", "crm-prod", "--region", "eu-west-1"])

    line = one_line(capsys.readouterr().err)
    if command in LOCAL_ONLY:
        assert code == target.EXIT_USAGE and "only on a local stack" in line
        return
    assert code == target.EXIT_UNREACHABLE, line
    assert line == "crm: no AWS credentials: run `aws configure` (or `aws sso login`), or set AWS_PROFILE"


def test_a_wrong_endpoint_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["outbox", "--endpoint", "127.0.0.1:3000"]) == target.EXIT_USAGE
    assert "is not a URL: use http://HOST:PORT" in one_line(capsys.readouterr().err)


def test_an_unexpected_error_is_one_line_and_crm_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: argparse.Namespace) -> int:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr("infra.commands.outbox.outbox_command", broken)
    parser = build_parser()
    args = parser.parse_args(["outbox"])
    args.run = broken
    monkeypatch.setattr("infra.cli.build_parser", lambda: _Fixed(args))

    assert main(["outbox"]) == target.EXIT_FAILED
    assert "unexpected error: RuntimeError: the disk is full (set CRM_DEBUG=1" in one_line(
        capsys.readouterr().err
    )
    monkeypatch.setenv("CRM_DEBUG", "1")
    assert main(["outbox"]) == target.EXIT_FAILED
    assert "Traceback" in capsys.readouterr().err


class _Fixed:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    def parse_args(self, argv: object) -> argparse.Namespace:
        return self.args


def test_a_broken_business_file_is_refused_before_the_command_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crm_core.campaigns import definitions

    broken = tmp_path / "campaigns.yaml"
    broken.write_text("campaigns: [unclosed\n", encoding="utf-8")
    monkeypatch.setattr(definitions, "CAMPAIGNS_FILE", broken)
    monkeypatch.setattr(target, "_override", target.InProcess())

    assert main(["campaigns", "status"]) == target.EXIT_FAILED

    err = capsys.readouterr().err
    assert err.startswith("crm: campaigns.yaml is not valid YAML") and "Traceback" not in err


def test_the_installed_crm_prints_one_line_and_its_exit_code() -> None:
    """As a user runs it: the console script, in a process of its own."""
    crm = Path(sys.executable).with_name("crm")
    done = subprocess.run(
        [str(crm), "outbox", "--endpoint", NOBODY], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == target.EXIT_UNREACHABLE
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, done.stderr


# ---- the help and the manual agree ---------------------------------------------------------------
def sections() -> dict[str, str]:
    """docs/cli.md's text per command: a `### crm COMMAND` heading up to the next heading."""
    text = DOCS.read_text(encoding="utf-8")
    found = {}
    for match in re.finditer(r"^### `crm ([a-z -]+)`\n(.*?)(?=^#{2,3} |\Z)", text, re.MULTILINE | re.DOTALL):
        found[match.group(1).strip()] = match.group(2)
    return found


def test_every_command_and_option_of_the_help_is_in_docs_cli_md() -> None:
    documented = sections()

    assert set(documented) == set(COMMANDS), "docs/cli.md has a `### crm COMMAND` section per command"
    for command, parser in COMMANDS.items():
        section = documented[command]
        for action in parser._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    assert option in section, f"docs/cli.md, crm {command}: {option} is not documented"
            if not action.option_strings and action.dest != "help":
                assert action.dest.upper() in section, f"crm {command}: argument {action.dest} not documented"


def test_the_manual_lists_the_exit_codes_and_variables_the_code_uses() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for code in target.EXIT_CODES:
        assert re.search(rf"^\| {code} \|", text, re.MULTILINE), f"exit code {code} is not in the table"
    for variable in ("CRM_STACK", "CRM_ENDPOINT", "CRM_DEBUG"):
        assert variable in text
    top = build_parser().format_help()
    assert "docs/cli.md" in top and "CRM_STACK" in top and "CRM_ENDPOINT" in top


def test_a_command_on_a_local_stack_runs_on_the_stacks_clock() -> None:
    """`crm campaigns enroll` on a stack whose clock was moved to 2030 enrolls in 2030, not today."""
    from crm_core import clock

    stack = target.Target(endpoint=NOBODY, _info={"clock": "2030-01-01T00:00:00Z", "moto_endpoint": NOBODY})
    saved = clock.use_clock(clock.SystemClock())
    try:
        stack.follow_clock()
        assert "2030-01-01T00:00:00" <= clock.now().isoformat() < "2030-01-01T00:01:00"
    finally:
        clock.use_clock(saved)
