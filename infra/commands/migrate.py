"""`crm migrate status` and `crm migrate run [--dry-run]`: the data migrations of crm_core.migrations.

On the target of every command (infra/commands/target.py): the local stack by default, or a deployed
`--stack NAME`, or `--config-env PROFILE` for the stack of a samconfig.toml profile (the table names
are read from the stack). `make deploy` runs `crm migrate run --config-env PROFILE` after
`sam deploy`: the post-deploy step.
Progress is recorded in the deployment's messages table, so a run that stops (Ctrl-C, a crash, a
lost connection, `--max-pages`) resumes where it was, and a finished migration is never run again.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from infra.commands.target import EXIT_PAUSED, UsageProblem, add_target_options, target_of
from infra.terminal import echo, echo_json

if TYPE_CHECKING:
    from crm_core.migrations import Migration, Outcome, Progress, Runner


def register(subparsers: argparse._SubParsersAction[Any]) -> None:

    migrate = subparsers.add_parser("migrate", help="data migrations: what has run, run what is pending")
    sub = migrate.add_subparsers(dest="migrate_command", required=True, metavar="ACTION")

    status = sub.add_parser("status", help="every migration and how far it got in this deployment")
    status.set_defaults(run=run_status)

    run = sub.add_parser("run", help="run the pending migrations, in order (resumes an interrupted one)")
    run.add_argument("--dry-run", action="store_true", help="read and count what would change; write nothing")
    run.add_argument("--page-size", type=int, default=100, help="items per Scan page (default 100)")
    run.add_argument(
        "--units-per-second",
        type=float,
        default=50.0,
        help="capacity units per second to stay under, reads and writes (default 50)",
    )
    run.add_argument("--max-pages", type=int, default=None, help="stop after this many pages (resume later)")
    run.set_defaults(run=run_migrations)
    for parser in (status, run):
        add_target_options(parser, json=parser is status)
        parser.add_argument(
            "--config-env",
            default=None,
            metavar="PROFILE",
            help="the deployed stack of this samconfig.toml profile (instead of --stack NAME)",
        )


def runner_for(args: argparse.Namespace) -> Runner:
    """A runner on the deployment `args` name (see the module docstring).

    Raises Unreachable when the target does not answer.
    """
    from crm_core import aws
    from crm_core.migrations import Pace, Runner

    target = target_of(args)
    if getattr(args, "config_env", None):
        target.stack = _profile_stack(args.config_env)
    target.connect()
    tables = {name: value for name, value in os.environ.items() if name.endswith("_TABLE") and value}
    pace = Pace(
        page_size=getattr(args, "page_size", 100), units_per_second=getattr(args, "units_per_second", 50.0)
    )
    return Runner(aws.dynamodb(), tables, pace=pace)


def _profile_stack(config_env: str) -> str:
    """The stack_name of a samconfig.toml profile (what `make deploy CONFIG_ENV=...` deployed).

    Raises UsageProblem when the profile names no stack.
    """
    from infra.deploy import load_samconfig

    profile = load_samconfig().get(config_env, {})
    for command in ("deploy", "global"):
        name = profile.get(command, {}).get("parameters", {}).get("stack_name")
        if name:
            return str(name)
    raise UsageProblem(
        f"samconfig.toml profile {config_env!r} names no stack_name: add one, or pass --stack NAME"
    )


def _registered() -> tuple[Migration, ...]:
    from crm_core.migrations.registry import MIGRATIONS

    return MIGRATIONS


def run_status(args: argparse.Namespace, migrations: Sequence[Migration] | None = None) -> int:
    """Print every migration's recorded progress."""
    migrations = _registered() if migrations is None else migrations
    runner = runner_for(args)  # the target answers (or the user hears why not), migrations or none
    if not migrations:
        echo("no migrations: no stored shape has changed")
        return 0
    states = runner.status(migrations)
    if args.json:
        echo_json([state.as_dict() for state in states], indent=1)
    else:
        for state in states:
            echo(_line(state))
    return 0


def run_migrations(args: argparse.Namespace, migrations: Sequence[Migration] | None = None) -> int:
    """Run the pending migrations; 0 when all are done (or a dry run finished), EXIT_PAUSED (4) if paused."""
    migrations = _registered() if migrations is None else migrations
    runner = runner_for(args)
    if not migrations:
        echo("no migrations: nothing to run")
        return 0
    outcomes = runner.run_pending(migrations, dry_run=args.dry_run, max_pages=args.max_pages)
    for outcome in outcomes:
        echo(_outcome_line(outcome))
    return EXIT_PAUSED if any(o.paused for o in outcomes) else 0


def _line(state: Progress) -> str:
    when = state.completed_at or state.updated_at or ""
    return (
        f"{state.migration:32} {state.status:8} pages {state.pages}  scanned {state.scanned}  "
        f"rewritten {state.rewritten}  already {state.already}  {when}"
    ).rstrip()


def _outcome_line(outcome: Outcome) -> str:
    line = _line(outcome.progress)
    if outcome.dry_run:
        return f"{line}  (dry run: would rewrite {outcome.would_rewrite})"
    if outcome.paused:
        return f"{line}  (paused: run again to resume)"
    return line
