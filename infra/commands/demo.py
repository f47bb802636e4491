"""`crm demo`: the local stack, with the main story played through it."""

from __future__ import annotations

import argparse
from typing import Any

from infra.terminal import echo


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    demo = subparsers.add_parser("demo", help="start the local stack and play the demo scenes through it")
    demo.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000; 0 picks a free one)")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--keep", action="store_true", help="keep the stack running after the scenes (Ctrl-C)")
    demo.add_argument("--verbose", action="store_true", help="show each request and the handlers' logs")
    demo.set_defaults(run=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    from infra.demo import QUIET, play_all, scenes, summary
    from infra.local.client import LocalClient
    from infra.local.stack import LocalStack

    stack = LocalStack(
        port=args.port,
        host=args.host,
        log_requests=args.verbose,
        env_overrides=None if args.verbose else QUIET,
    )
    try:
        stack.start()
    except OSError as exc:
        echo(f"cannot start the local stack on {args.host}:{args.port}: {exc} (try --port 0)")
        return 1
    try:
        echo(f"CRM demo: local stack on {stack.url} (moto at {stack.moto_url})", flush=True)
        if not args.verbose:
            echo("The handlers' own logs are hidden; `crm demo --verbose` shows them.", flush=True)
        results = play_all(LocalClient(stack.url), scenes())
        echo(summary(results), flush=True)
        if args.keep:
            stack.wait(
                lambda: echo(f"\nThe stack keeps running on {stack.url}; Ctrl-C stops it.", flush=True)
            )
    except KeyboardInterrupt:
        echo("\nDemo interrupted.", flush=True)
        return 130
    finally:
        stack.stop()
    return 1 if any(r.error for r in results) else 0
