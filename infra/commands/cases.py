"""`crm cases list [--status S] [--overdue]` and `crm cases show CASE_ID`.

On the local stack (the default target) they ask its case API over HTTP; on a deployed stack
(`--stack NAME`) they read its cases table with your AWS credentials (the deployed API wants IAM
signatures), through the same crm_core.cases.service the API uses.
"""

from __future__ import annotations

import argparse
import urllib.parse
from typing import Any

from infra.commands.target import CliError, Target, add_target_options, target_of
from infra.terminal import echo, echo_json, safe


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    cases = subparsers.add_parser("cases", help="list and show complaint cases")
    sub = cases.add_subparsers(dest="cases_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="cases needing work (or of one status), newest activity first")
    listing.add_argument(
        "--status",
        choices=["open", "waiting", "resolved", "quarantined"],
        help="only cases of this status (default: those needing work)",
    )
    listing.add_argument("--overdue", action="store_true", help="only open cases past an SLA target")
    add_target_options(listing, json=True)
    listing.set_defaults(run=_list)
    show = sub.add_parser("show", help="one case with its events")
    show.add_argument("case_id", metavar="CASE_ID", help="the case's id, as C-7Q4M2X (any case)")
    add_target_options(show, json=True)
    show.set_defaults(run=_show)


def _get(target: Target, path: str, query: dict[str, str] | None = None) -> dict[str, Any] | None:
    """The case API's JSON answer on the local stack; None for a 404. Raises CliError otherwise."""
    response = target.client().get(path, params=query or None)
    if response.status == 404:
        return None
    if response.status != 200:
        raise CliError(f"GET {path} answered {response.status}: {response.text[:200]}")
    return response.json()  # type: ignore[no-any-return]


def _list(args: argparse.Namespace) -> int:
    target = target_of(args)
    if target.local:
        query = {
            k: v for k, v in {"status": args.status, "overdue": "true" if args.overdue else ""}.items() if v
        }
        found = _get(target, "/cases", query) or {"cases": []}
    else:
        target.connect()
        from crm_core.cases import service

        found = service.list_cases(args.status, overdue=args.overdue)
    if args.json:
        echo_json(found)
        return 0
    rows = found["cases"]
    echo(f"{'CASE':10} {'STATUS':11} {'PRI':4} {'TEAM':13} {'DUE':25} {'LATE':5} SUBJECT")
    for case in rows:
        due = case["resolution_due"] if case.get("first_responded_at") else case["first_response_due"]
        late = "yes" if case.get("overdue") else ""
        echo(
            f"{safe(case['case_id']):10} {safe(case['status']):11} {safe(case['priority']):4} "
            f"{safe(case['team']):13} {safe(due or ''):25} {late:5} {safe(case['subject'][:60])}"
        )
    echo(f"{len(rows)} case(s)")
    return 0


def _show(args: argparse.Namespace) -> int:
    target = target_of(args)
    if target.local:
        case = _get(target, f"/cases/{urllib.parse.quote(args.case_id)}")
    else:
        target.connect()
        from crm_core.cases import service
        from crm_core.errors import NotFound

        try:
            case = service.get_case(args.case_id)
        except NotFound:
            case = None
    if case is None:
        raise CliError(f"{args.case_id}: no such case (`crm cases list` shows the open ones)")
    if args.json:
        echo_json(case)
        return 0
    head = f"Case {case['case_id']}  [{case['status']}]  {case['priority']}  team {case['team']}"
    echo(safe(f"{head}  ({case['category']})"))
    echo(safe(f"  from     {case.get('name') or ''} <{case['email']}>  tier {case.get('tier') or '-'}"))
    echo(f"  subject  {safe(case['subject'])}")
    echo(f"  due      first response {case['first_response_due']}, resolution {case['resolution_due']}")
    if case.get("quarantine_reason"):
        echo(f"  quarantined: {safe(case['quarantine_reason'])}")
    for event in case["events"]:
        echo(safe(f"- {event['at']}  {event['kind']:8} {event.get('subject') or ''}"))
        if event.get("text"):
            for line in str(event["text"]).splitlines()[:6]:
                echo(f"      {safe(line)}")
    return 0
