"""`crm cases list [--status S] [--overdue]` and `crm cases show CASE_ID`.

With `--url` (e.g. http://127.0.0.1:3000 for the local stack) they ask the case API over HTTP;
without it they read the cases table directly with the AWS credentials and the environment of a
deployment (CASES_TABLE and the other variables template.yaml sets).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
import urllib.request
from typing import Any

from infra.terminal import echo, echo_json, safe


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    cases = subparsers.add_parser("cases", help="list and show complaint cases")
    sub = cases.add_subparsers(dest="cases_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="cases needing work (or of one status), newest activity first")
    listing.add_argument("--status", choices=["open", "waiting", "resolved", "quarantined"])
    listing.add_argument("--overdue", action="store_true", help="only open cases past an SLA target")
    listing.add_argument("--url", help="base URL of the HTTP API (the local stack: http://127.0.0.1:3000)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(run=_list)
    show = sub.add_parser("show", help="one case with its events")
    show.add_argument("case_id")
    show.add_argument("--url", help="base URL of the HTTP API")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=_show)


def _get(url: str, path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    target = url.rstrip("/") + path + ("?" + urllib.parse.urlencode(query) if query else "")
    with urllib.request.urlopen(target, timeout=30) as response:  # noqa: S310 - an operator-given URL
        return json.loads(response.read())  # type: ignore[no-any-return]


def _list(args: argparse.Namespace) -> int:
    if args.url:
        query = {
            k: v for k, v in {"status": args.status, "overdue": "true" if args.overdue else ""}.items() if v
        }
        found = _get(args.url, "/cases", query)
    else:
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
    if args.url:
        try:
            case = _get(args.url, f"/cases/{urllib.parse.quote(args.case_id)}")
        except urllib.error.HTTPError as exc:
            echo(f"{args.case_id}: {exc.code} {exc.reason}", file=sys.stderr)
            return 1
    else:
        from crm_core.cases import service
        from crm_core.errors import NotFound

        try:
            case = service.get_case(args.case_id)
        except NotFound:
            echo(f"{args.case_id}: no such case", file=sys.stderr)
            return 1
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
