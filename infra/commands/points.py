"""`crm points show EMAIL`, `crm points adjust EMAIL POINTS --reason ...`: a contact's loyalty points.

Against a running local stack (default, `--url`/`--port`) the command uses its HTTP API and its
queues; against a deployed stack (`--stack NAME`) it reads the ledger with the ServeLoyaltyFunction's
own settings and puts the adjustment on the stack's OrdersQueue. An adjustment is an order event like
the shop's: it takes the one path that writes points, and its event id makes a retry harmless
(pass the same `--event-id` to retry; by default a new one is made and printed).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any, Protocol

from crm_core import clock
from crm_core.models.contacts import contact_id_for
from infra.terminal import echo, echo_json


class Target(Protocol):
    def summary(self, contact_id: str) -> dict[str, Any] | None: ...

    def history(self, contact_id: str, limit: int) -> list[dict[str, Any]]: ...

    def send_order_event(self, event: dict[str, Any]) -> str: ...


class LocalTarget:
    """A local stack, over HTTP."""

    def __init__(self, url: str) -> None:
        from infra.local.client import LocalClient

        self.client = LocalClient(url, timeout=30)

    def summary(self, contact_id: str) -> dict[str, Any] | None:
        response = self.client.get(f"/contacts/{contact_id}/loyalty")
        if response.status == 404:
            return None
        if response.status != 200:
            raise RuntimeError(f"GET loyalty answered {response.status}: {response.text[:300]}")
        return response.json()  # type: ignore[no-any-return]

    def history(self, contact_id: str, limit: int) -> list[dict[str, Any]]:
        response = self.client.get(f"/contacts/{contact_id}/loyalty/history", params={"limit": limit})
        return response.json().get("entries", []) if response.status == 200 else []

    def send_order_event(self, event: dict[str, Any]) -> str:
        report = self.client.send_to_queue("OrdersQueue", event)
        if report.get("dead_lettered") or report.get("message_id") not in report.get("succeeded", []):
            return "parked in OrdersDeadLetterQueue: check `GET /_local/queues` and the logs"
        return "applied"


class AwsTarget:
    """A deployed stack: the functions' own environment, read from ServeLoyaltyFunction."""

    def __init__(self, stack_name: str, session: Any = None) -> None:
        import os

        import boto3

        from crm_core import aws
        from crm_core.models import reset_connections
        from crm_core.settings import reset_settings

        session = session or boto3.Session()
        pages = session.client("cloudformation").get_paginator("list_stack_resources")
        resources = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for page in pages.paginate(StackName=stack_name)
            for r in page["StackResourceSummaries"]
        }
        function = resources["ServeLoyaltyFunction"]
        config = session.client("lambda").get_function_configuration(FunctionName=function)
        os.environ.update(config.get("Environment", {}).get("Variables", {}))
        reset_settings()
        aws.reset_clients()
        reset_connections()
        self.queue_url = resources["OrdersQueue"]
        self.sqs = session.client("sqs")

    def summary(self, contact_id: str) -> dict[str, Any] | None:
        from crm_core import loyalty
        from crm_core.errors import NotFound

        try:
            return loyalty.summary(contact_id).to_json()
        except NotFound:
            return None

    def history(self, contact_id: str, limit: int) -> list[dict[str, Any]]:
        from crm_core import loyalty

        return loyalty.history(contact_id, limit=limit).to_json()["entries"]

    def send_order_event(self, event: dict[str, Any]) -> str:
        sent = self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(event))
        return f"queued as message {sent['MessageId']} (UpdateLoyaltyFunction applies it in seconds)"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    points = subparsers.add_parser("points", help="a contact's loyalty points: show, adjust")
    commands = points.add_subparsers(dest="points_command", required=True, metavar="COMMAND")
    show = commands.add_parser("show", help="balance, tier, next expiry and recent ledger entries")
    show.add_argument("email")
    show.add_argument("--entries", type=int, default=10, help="how many recent entries (default 10)")
    show.add_argument("--json", action="store_true", help="print the API's JSON")
    show.set_defaults(run=show_command)
    adjust = commands.add_parser("adjust", help="add (or with a negative number, remove) points")
    adjust.add_argument("email")
    adjust.add_argument("points", type=int, help="points to add; negative to take away")
    adjust.add_argument("--reason", required=True, help="why (kept on the ledger entry)")
    adjust.add_argument("--event-id", help="reuse to retry the same adjustment safely")
    adjust.set_defaults(run=adjust_command)
    for command in (show, adjust):
        where = command.add_mutually_exclusive_group()
        where.add_argument("--url", help="base URL of a running local stack")
        where.add_argument("--port", type=int, default=3000, help="port of the local stack (default 3000)")
        where.add_argument("--stack", help="name of a deployed CloudFormation stack (uses AWS credentials)")


def target_of(args: argparse.Namespace) -> Target:
    if args.stack:
        return AwsTarget(args.stack)
    return LocalTarget(args.url or f"http://127.0.0.1:{args.port}")


def show_command(args: argparse.Namespace) -> int:
    contact_id = contact_id_for(args.email)
    try:
        target = target_of(args)
        summary = target.summary(contact_id)
        entries = target.history(contact_id, args.entries) if summary else []
    except OSError as exc:
        echo(f"cannot reach the stack: {exc}", file=sys.stderr)
        return 1
    if summary is None:
        echo(f"{args.email} is not a contact ({contact_id})", file=sys.stderr)
        return 1
    if args.json:
        echo_json({"summary": summary, "entries": entries})
    else:
        echo(render(args.email, summary, entries))
    return 0


def render(email: str, summary: dict[str, Any], entries: list[dict[str, Any]]) -> str:
    """The summary and recent entries as a few lines of text."""
    lines = [
        f"{email} ({summary['contact_id']})",
        f"  balance {summary['balance']} points (available {summary['available']}, owed {summary['debt']})",
        f"  tier {summary['tier']} since {summary['tier_since']} (x{summary['multiplier']}),"
        f" lifetime {summary['lifetime_points']}, qualifying {summary['qualifying_points']}",
    ]
    if summary.get("next_tier"):
        upcoming = summary["next_tier"]
        lines.append(f"  {upcoming['points_needed']} qualifying points to {upcoming['name']}")
    if summary.get("next_expiry"):
        lines.append(
            f"  next expiry: {summary['next_expiry']['points']} points on {summary['next_expiry']['on']}"
        )
    for entry in entries:
        note = entry.get("reason") or entry.get("order_id") or ""
        moved = f"{entry['points']:>+7}  -> {entry['balance_after']:>6}"
        lines.append(f"    {entry['recorded_at']}  {entry['id']:<32} {moved}  {note}")
    return "\n".join(lines)


def adjust_command(args: argparse.Namespace) -> int:
    if args.points == 0:
        echo("points must not be 0", file=sys.stderr)
        return 2
    event = {
        "event_id": args.event_id or f"adj-{uuid.uuid4()}",
        "type": "adjustment",
        "email": args.email,
        "points": args.points,
        "reason": args.reason,
        "occurred_at": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    try:
        outcome = target_of(args).send_order_event(event)
    except OSError as exc:
        echo(f"cannot reach the stack: {exc}", file=sys.stderr)
        return 1
    echo(f"adjustment {event['event_id']} of {args.points:+d} points for {args.email}: {outcome}")
    return 0
