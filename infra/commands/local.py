"""`crm local up`: the local stack in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from infra.terminal import echo

if TYPE_CHECKING:
    from infra.local.stack import LocalStack


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
        echo(banner(stack), flush=True)
        echo("\nReady. Ctrl-C stops it.", flush=True)

    try:
        stack.wait(ready)
    finally:
        stack.stop()
        echo("Local stack stopped.", flush=True)
    return 0


def banner(stack: LocalStack) -> str:
    """What a started stack serves, for the console."""
    lines = [
        f"CRM local stack on {stack.url}  (started in {stack.startup_seconds:.1f} s)",
        "template.yaml passed the SAM transform; every AWS call a function makes is checked against",
        "the IAM role SAM generates for it (a denied call fails with AccessDenied, as on AWS).",
        "",
        *_routes(stack),
        "",
        "Pages: /  (examples/lead-form/index.html), /examples/..., /openapi.json",
        "",
        *_schedules(stack),
        *_event_sources(stack),
        "",
        f"Local control: {stack.url}/_local  (outbox, inbox, clock, schedules, queues, topics)",
        f"Clock: {stack.clock.now().strftime('%Y-%m-%dT%H:%M:%SZ')} (GET/POST /_local/clock)",
        f"moto: {stack.moto_url}  (AWS_ENDPOINT_URL for boto3 and the aws CLI)",
    ]
    return "\n".join(lines)


def _routes(stack: LocalStack) -> list[str]:
    lines = ["HTTP API (template.yaml):"]
    for route in stack.routes:
        auth = "  [AWS_IAM: signatures not checked locally]" if route.iam else ""
        lines.append(f"  {route.method:6} {route.path:45} -> {route.function}{auth}")
    return lines


def _schedules(stack: LocalStack) -> list[str]:
    parts = stack.parts
    mode = "by the local clock" if stack.auto_schedules else "on demand: POST /_local/schedules/{Function}"
    lines = [f"Schedules ({mode}):"]
    for schedule in parts.schedules.items:
        note = f"  ! {schedule.problem}" if schedule.problem else ""
        lines.append(f"  {schedule.function}.{schedule.event:20} {schedule.expression}{note}")
    return lines


def _event_sources(stack: LocalStack) -> list[str]:
    parts = stack.parts
    lines = ["Queues (POST /_local/queues/{LogicalId}):"]
    for info in parts.queues.items.values():
        consumers = ", ".join(c.function for c in info.consumers) or "no consumer"
        dlq = f", DLQ {info.dlq} after {info.max_receive} receives" if info.dlq else ""
        lines.append(f"  {info.logical_id:28} -> {consumers}{dlq}")
    lines.append("Topics (POST /_local/topics/{LogicalId}):")
    for topic, subscribers in parts.topics.subscribers.items():
        lines.append(f"  {topic:28} -> {', '.join(subscribers) or 'no subscriber'}")
    ses_feedback = ", ".join(f for f, _ in parts.buses.subscribers.get("default", [])) or "no rule"
    lines.append(f"SES events, on the default bus (POST /_local/ses-events): -> {ses_feedback}")
    rules = ", ".join(rule_id for rule_id, _ in parts.inbox.rules) or "no receipt rule yet"
    lines.append(f"SES inbound (POST /_local/inbox): {rules}")
    return lines
