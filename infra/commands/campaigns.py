"""`crm campaigns enroll` / `crm campaigns status`: an operator's view of the follow-up campaigns.

They work on the target (infra/commands/target.py): the local stack by default, on its movable
clock (an enrollment is due by the stack's time, `status` shows it), or a deployed `--stack NAME`.
`--all-contacts` and `status` page through a whole table with Scan: operator commands, run by a
person now and then, never on a Lambda path (the sender finds due steps through its index).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.commands.target import UsageProblem, add_target_options, contact_id_of, target_of
from infra.terminal import echo, echo_json

if TYPE_CHECKING:
    from datetime import datetime

SEGMENT_FIELDS = ("locale", "time_zone", "tier", "vip", "company")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    campaigns = subparsers.add_parser(
        "campaigns", help="enroll contacts in follow-up campaigns; see their status"
    )
    sub = campaigns.add_subparsers(dest="campaigns_command", required=True, metavar="ACTION")

    enroll = sub.add_parser("enroll", help="enroll a segment of contacts in a campaign")
    enroll.add_argument(
        "campaign", metavar="CAMPAIGN", help="a campaign of campaigns.yaml (welcome, win-back, ...)"
    )
    segment = enroll.add_mutually_exclusive_group(required=True)
    segment.add_argument(
        "--email", action="append", metavar="ADDRESS", help="a contact's address (repeatable)"
    )
    segment.add_argument(
        "--contacts-file",
        type=Path,
        metavar="PATH",
        help="addresses, one a line, or a CSV with an 'email' column",
    )
    segment.add_argument(
        "--all-contacts",
        action="store_true",
        help="every contact (pages through the contacts table with Scan)",
    )
    enroll.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help=f"keep contacts whose field equals the value; fields: {', '.join(SEGMENT_FIELDS)} (repeatable)",
    )
    enroll.add_argument("--at", help="when the sequence starts (ISO 8601, default now)")
    enroll.add_argument("--occurrence", help="a name for this run, so a contact can do the campaign again")
    enroll.add_argument("--dry-run", action="store_true", help="show who would be enrolled; change nothing")
    add_target_options(enroll)
    enroll.set_defaults(run=enroll_command)

    status = sub.add_parser(
        "status", help="enrollments by campaign and status (Scan of the enrollments table)"
    )
    status.add_argument("--campaign", help="only this campaign")
    add_target_options(status, json=True)
    status.set_defaults(run=status_command)


def _where(pairs: Sequence[str]) -> dict[str, str]:
    filters: dict[str, str] = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or field not in SEGMENT_FIELDS:
            raise UsageProblem(
                f"--where {pair!r}: use FIELD=VALUE with FIELD one of {', '.join(SEGMENT_FIELDS)}"
            )
        filters[field] = value
    return filters


def _matches(contact: Any, filters: dict[str, str]) -> bool:
    return all(
        str(getattr(contact, field, None)).lower() == value.lower() for field, value in filters.items()
    )


def _addresses_in(path: Path) -> list[str]:
    from infra.commands.contacts import decode

    try:
        lines = decode(path.read_bytes()).splitlines()
    except OSError as exc:
        raise UsageProblem(f"cannot read --contacts-file {path}: {exc.strerror or exc}") from None
    if lines and "email" in [h.strip().lower() for h in lines[0].split(",")]:
        return [
            row["email"].strip() for row in csv.DictReader(lines, skipinitialspace=True) if row.get("email")
        ]
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _segment(args: argparse.Namespace, missing: list[str]) -> Iterator[Any]:
    """The contacts of the segment, each once; addresses that are no contact go to `missing`."""
    from pynamodb.exceptions import DoesNotExist

    from crm_core.models import Contact

    filters = _where(args.where)
    if args.all_contacts:
        yield from (c for c in Contact.scan() if _matches(c, filters))
        return
    addresses: Iterable[str] = args.email or _addresses_in(args.contacts_file)
    for contact_id, address in {contact_id_of(a): a for a in addresses}.items():
        try:
            contact = Contact.get(contact_id)
        except DoesNotExist:
            missing.append(address)
            continue
        if _matches(contact, filters):
            yield contact


def enroll_command(args: argparse.Namespace) -> int:
    """Enroll every contact of the segment; enrolling again changes nothing."""
    _where(args.where)  # a bad filter is refused before anything is read
    target_of(args).connect()
    from crm_core.campaigns import definitions
    from crm_core.campaigns.enrollment import enroll

    catalog = definitions.load()
    if catalog.get(args.campaign) is None:
        raise UsageProblem(
            f"no campaign {args.campaign!r}; campaigns.yaml has {', '.join(sorted(catalog.campaigns))}"
        )
    at = _start_time(args.at)
    tally: Counter[str] = Counter()
    missing: list[str] = []
    for contact in _segment(args, missing):
        if args.dry_run:
            tally["would enroll"] += 1
        elif enroll(contact.contact_id, args.campaign, at=at, occurrence=args.occurrence):
            tally["enrolled"] += 1
        else:
            tally["already enrolled"] += 1
    for address in missing:
        echo(f"not a contact: {address}", file=sys.stderr)  # one line per address, as the user gave it
    summary = ", ".join(f"{n} {what}" for what, n in sorted(tally.items())) or "nobody matched"
    echo(f"{args.campaign}: {summary}" + (f", {len(missing)} not a contact" if missing else ""))
    return 1 if missing and not tally else 0


def _start_time(at: str | None) -> datetime:
    """When enrollments start: --at, else now. Raises UsageProblem for a time without its zone."""
    from crm_core import clock

    try:
        return clock.parse_instant(at) if at else clock.now()
    except ValueError:
        raise UsageProblem(f"--at {at!r}: use an ISO 8601 time with its zone, 2027-03-01T09:00:00Z") from None


def _label(item: Any, catalog: Any) -> str:
    if item.status == "exited":
        return f"exited ({item.exit_reason})"
    campaign, step = catalog.get(item.campaign), int(item.step)
    if item.status == "active" and campaign is not None and step < len(campaign.steps):
        return f"active, next {campaign.steps[step].name}"
    return str(item.status)


def status_command(args: argparse.Namespace) -> int:
    """Counts of enrollments per campaign and status (exit reasons too), and what is due now."""
    target_of(args).connect()
    from crm_core import clock
    from crm_core.campaigns import definitions
    from crm_core.clock import iso
    from crm_core.models import Enrollment

    now, catalog = iso(clock.now()), definitions.load()
    counts: Counter[tuple[str, str]] = Counter()
    due: Counter[str] = Counter()
    for item in Enrollment.scan():
        if args.campaign and item.campaign != args.campaign:
            continue
        counts[(item.campaign, _label(item, catalog))] += 1
        if item.status == "active" and item.due_at and item.due_at <= now:
            due[item.campaign] += 1
    if args.json:
        echo_json(
            {
                "now": now,
                "enrollments": [
                    {"campaign": c, "status": label, "count": n} for (c, label), n in sorted(counts.items())
                ],
                "due": dict(sorted(due.items())),
            }
        )
    else:
        echo(_status_table(now, counts, due))
    return 0


def _status_table(now: str, counts: Counter[tuple[str, str]], due: Counter[str]) -> str:
    if not counts:
        return "No enrollments yet."
    width = max(len(c) for c, _ in counts)
    lines = [f"{'campaign'.ljust(width)}  {'status'.ljust(24)}  count"]
    lines += [
        f"{campaign.ljust(width)}  {label.ljust(24)}  {n}" for (campaign, label), n in sorted(counts.items())
    ]
    lines.append(f"due now ({now}): " + (", ".join(f"{c} {n}" for c, n in sorted(due.items())) or "nothing"))
    return "\n".join(lines)
