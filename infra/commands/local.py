"""`crm local up`: the local stack in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from infra.terminal import echo


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    local = subparsers.add_parser("local", help="run the template on this machine (moto + HTTP gateway)")
    commands = local.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    up = commands.add_parser("up", help="start the local stack; Ctrl-C stops it")
    up.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    up.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    up.add_argument(
        "--auto-schedules",
        action="store_true",
        help="fire scheduled functions by the local clock (default: only on POST /_local/schedules/...)",
    )
    up.add_argument("--quiet", action="store_true", help="do not log each request")
    up.set_defaults(run=up_command)


def up_command(args: argparse.Namespace) -> int:
    from infra.commands.target import EXIT_FAILED
    from infra.local.stack import LocalStack

    stack = LocalStack(
        port=args.port, host=args.host, auto_schedules=args.auto_schedules, log_requests=not args.quiet
    )
    try:
        stack.start()
        stack.runtime.preload()  # a handler that cannot import shows now, not at its first request
    except OSError as exc:
        stack.stop()
        echo(
            f"crm: cannot start the local stack on {args.host}:{args.port}: {exc.strerror or exc}"
            f" (is one already running? try another port: make up PORT=3001, or crm local up --port 3001)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except KeyboardInterrupt:
        stack.stop()
        return 130

    def ready() -> None:
        echo(stack.banner(), flush=True)
        echo("\nReady. Ctrl-C stops it.", flush=True)

    try:
        stack.wait(ready)
    finally:
        stack.stop()
        echo("Local stack stopped.", flush=True)
    return 0
