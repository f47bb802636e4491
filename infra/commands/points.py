"""`crm points show EMAIL`, `crm points adjust EMAIL POINTS --reason ...`: a contact's loyalty points.

Against the local stack (the default target) the command uses its HTTP API and its queues, and
prints what became of the adjustment (applied, a replay, or parked with the reason); against a
deployed stack (`--stack NAME`) it reads the ledger with the ServeLoyaltyFunction's own settings and
puts the adjustment on the stack's OrdersQueue. An adjustment is an order event like
the shop's: it takes the one path that writes points, and its event id makes a retry harmless
(pass the same `--event-id` to retry; by default a new one is made and printed).
"""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any, Protocol

from crm_core import clock
from infra.commands.target import (
    CliError,
    Target,
    UsageProblem,
    add_target_options,
    contact_id_of,
    target_of,
)
from infra.terminal import echo, echo_json


class Parked(CliError):
    """The adjustment did not apply: parked in the DLQ, or failed (exit 1)."""


class Ledger(Protocol):
    def contact_id(self, address: str) -> str: ...

    def summary(self, contact_id: str) -> dict[str, Any] | None: ...

    def history(self, contact_id: str, limit: int) -> list[dict[str, Any]]: ...

    def send_order_event(self, event: dict[str, Any]) -> str: ...


class LocalTarget:
    """A local stack, over HTTP."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.client = target.client(timeout=30)

    def contact_id(self, address: str) -> str:
        """The contact id of `address`, keyed by the stack's identity key (read from its moto)."""
        return self.target.contact_id(address)

    def summary(self, contact_id: str) -> dict[str, Any] | None:
        response = self.client.get(f"/contacts/{contact_id}/loyalty")
        if response.status == 404:
            return None
        if response.status != 200:
            raise CliError(f"GET loyalty answered {response.status}: {response.text[:300]}")
        return response.json()  # type: ignore[no-any-return]

    def history(self, contact_id: str, limit: int) -> list[dict[str, Any]]:
        response = self.client.get(f"/contacts/{contact_id}/loyalty/history", params={"limit": limit})
        return response.json().get("entries", []) if response.status == 200 else []

    def send_order_event(self, event: dict[str, Any]) -> str:
        """What became of the event: "applied" or "already applied ..."; raises Parked otherwise."""
        report = self.client.send_to_queue("OrdersQueue", event)
        fate = next(
            (m for m in report.get("messages", []) if m["message_id"] == report.get("message_id")), None
        )
        outcome = fate["outcome"] if fate else "not delivered"
        if outcome == "applied":
            return "applied"
        if outcome == "replayed":
            return "already applied before (same event id): nothing changed"
        reason = (fate or {}).get("reason") or "no consumer took it"
        where = "parked in OrdersDeadLetterQueue" if outcome in {"parked", "dead_lettered"} else outcome
        raise Parked(f"adjustment {event['event_id']} NOT applied, {where}: {reason}")


class AwsTarget:
    """A deployed stack: the functions' own environment, read from ServeLoyaltyFunction."""

    def __init__(self, stack_name: str, session: Any = None, region: str | None = None) -> None:
        import os

        from crm_core import aws
        from crm_core.models import reset_connections
        from crm_core.settings import reset_settings
        from infra import business_files

        business_files.check()
        target = Target(stack=stack_name, region=region)
        session = session or target.session()
        resources = target.resources(session)
        if "ServeLoyaltyFunction" not in resources:
            raise UsageProblem(f"stack {stack_name} has no ServeLoyaltyFunction: is it this project's stack?")
        function = resources["ServeLoyaltyFunction"]
        config = session.client("lambda").get_function_configuration(FunctionName=function)
        os.environ.update(config.get("Environment", {}).get("Variables", {}))
        reset_settings()
        aws.reset_clients()
        reset_connections()
        self.queue_url = resources["OrdersQueue"]
        self.sqs = session.client("sqs")

    def contact_id(self, address: str) -> str:
        """The contact id of `address`, keyed by the stack's identity key (IdentityKeySecret, read with
        your credentials: they need secretsmanager:GetSecretValue on it)."""
        from crm_core.contacts.identity import contact_id_for

        return contact_id_for(address)

    def summary(self, contact_id: str) -> dict[str, Any] | None:
        from crm_core import loyalty
        from crm_core.errors import NotFound

        try:
            return loyalty.summary(contact_id).to_json()
        except NotFound:
            return None

    def history(self, contact_id: str, limit: int) -> list[dict[str, Any]]:
        from crm_core import loyalty

        entries: list[dict[str, Any]] = loyalty.history(contact_id, limit=limit).to_json()["entries"]
        return entries

    def send_order_event(self, event: dict[str, Any]) -> str:
        sent = self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(event))
        return f"queued as message {sent['MessageId']} (UpdateLoyaltyFunction applies it in seconds)"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    points = subparsers.add_parser("points", help="a contact's loyalty points: show, adjust")
    commands = points.add_subparsers(dest="points_command", required=True, metavar="COMMAND")
    show = commands.add_parser("show", help="balance, tier, next expiry and recent ledger entries")
    show.add_argument("email", metavar="EMAIL", help="the contact's address (or its id, ct_...)")
    show.add_argument("--entries", type=int, default=10, help="how many recent entries (default 10)")
    add_target_options(show, json=True)
    show.set_defaults(run=show_command)
    adjust = commands.add_parser("adjust", help="add (or with a negative number, remove) points")
    adjust.add_argument("email", metavar="EMAIL", help="the contact's address")
    adjust.add_argument("points", type=int, metavar="POINTS", help="points to add; negative to take away")
    adjust.add_argument("--reason", required=True, help="why (kept on the ledger entry)")
    adjust.add_argument(
        "--event-id",
        help="reuse (with the same --at) to retry the same adjustment safely; default: a new one",
    )
    adjust.add_argument(
        "--at",
        metavar="TIME",
        help="when it happened (ISO 8601 with its zone; default: now on the target's clock)",
    )
    add_target_options(adjust)
    adjust.set_defaults(run=adjust_command)


def ledger_of(args: argparse.Namespace) -> Ledger:
    target = target_of(args)
    if target.local:
        from infra import business_files

        business_files.check()  # the loyalty rules the stack applies: refused here, not parked there
        target.follow_clock()  # the adjustment happens at the stack's time
        return LocalTarget(target)
    return AwsTarget(target.stack, region=target.region)


def show_command(args: argparse.Namespace) -> int:
    ledger = ledger_of(args)
    who = args.email.strip()
    contact_id = ledger.contact_id(who) if "@" in who else contact_id_of(who)
    summary = ledger.summary(contact_id)
    if summary is None:
        raise CliError(f"{args.email} is not a contact ({contact_id}): check the address or the target")
    entries = ledger.history(contact_id, args.entries)
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
        raise UsageProblem("points must not be 0: give a positive number to add, a negative one to take away")
    try:
        at = clock.parse_instant(args.at) if args.at else None
    except ValueError:
        raise UsageProblem(
            f"--at {args.at!r}: use an ISO 8601 time with its zone, 2027-03-01T09:00:00Z"
        ) from None
    ledger = ledger_of(args)
    event = {
        "event_id": args.event_id or f"adj-{uuid.uuid4()}",
        "type": "adjustment",
        "email": args.email,
        "points": args.points,
        "reason": args.reason,
        "occurred_at": (at or clock.now()).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    retry = f"to retry it safely: --event-id {event['event_id']} --at {event['occurred_at']}"
    try:
        outcome = ledger.send_order_event(event)
    except Parked as exc:
        raise Parked(f"{exc} ({retry} once the cause is fixed)") from None
    echo(f"adjustment {event['event_id']} of {args.points:+d} points for {args.email}: {outcome}")
    if outcome != "applied" and not outcome.startswith("already"):
        echo(f"  ({retry})")
    return 0
