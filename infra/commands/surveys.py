"""`crm surveys results --survey NAME [--from D] [--to D] [--group-by locale|team|tier]`.

With `--url` (e.g. http://127.0.0.1:3000 for the local stack) it asks GET /surveys/results over
HTTP; without it it reads the counters directly with the AWS credentials and the environment of a
deployment (SURVEYS_TABLE). It prints the figures and a small bar chart of the answers per score.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from infra.terminal import echo, echo_json, safe

BAR_WIDTH = 40


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    surveys = subparsers.add_parser("surveys", help="satisfaction survey results (CSAT, NPS)")
    sub = surveys.add_subparsers(dest="surveys_command", required=True, metavar="ACTION")
    results = sub.add_parser("results", help="sent, answered, response rate, CSAT or NPS, distribution")
    results.add_argument("--survey", required=True, help="a survey of surveys.yaml, e.g. after-purchase")
    results.add_argument(
        "--from", dest="start", help="first day of sending (YYYY-MM-DD; default 30 days ago)"
    )
    results.add_argument("--to", dest="end", help="last day of sending (YYYY-MM-DD; default today)")
    results.add_argument("--group-by", choices=["locale", "team", "tier"])
    results.add_argument("--url", help="base URL of the HTTP API (the local stack: http://127.0.0.1:3000)")
    results.add_argument("--json", action="store_true", help="print JSON instead of the chart")
    results.set_defaults(run=_results)


def _fetch(args: argparse.Namespace) -> dict[str, Any]:
    query = {"survey": args.survey, "from": args.start, "to": args.end, "group_by": args.group_by}
    if args.url:
        wanted = urllib.parse.urlencode({k: v for k, v in query.items() if v})
        target = f"{args.url.rstrip('/')}/surveys/results?{wanted}"
        with urllib.request.urlopen(target, timeout=30) as response:  # noqa: S310 - an operator-given URL
            return json.loads(response.read())  # type: ignore[no-any-return]
    from crm_core.surveys import results

    return results.results(args.survey, args.start, args.end, args.group_by)


def bars(distribution: dict[str, int], width: int = BAR_WIDTH) -> list[str]:
    """One line per score: the score, a bar as long as its share of the largest, the count."""
    top = max(distribution.values(), default=0)
    lines = []
    for score, n in distribution.items():
        length = round(width * n / top) if top else 0
        lines.append(f"{score:>3} | {'█' * length}{' ' if length else ''}{n}")
    return lines


def _figure(label: str, summary: dict[str, Any], scale: str) -> str:
    rate = summary["response_rate"]
    score = summary.get(scale)
    shown = "-" if score is None else (f"{score:+.1f}" if scale == "nps" else f"{score:.1f}%")
    return (
        f"{safe(label):14} sent {summary['sent']:>6}  answered {summary['answered']:>6}  "
        f"response {'-' if rate is None else f'{rate:.1f}%':>7}  {scale.upper()} {shown:>7}"
    )


def _results(args: argparse.Namespace) -> int:
    from crm_core.errors import ValidationFailed

    try:
        found = _fetch(args)
    except ValidationFailed as exc:
        for error in exc.errors:
            echo(f"{error.field}: {error.message}", file=sys.stderr)
        return 2
    except urllib.error.HTTPError as exc:
        echo(f"{exc.code} {exc.reason}: {exc.read().decode('utf-8', 'replace')}", file=sys.stderr)
        return 1
    if args.json:
        echo_json(found)
        return 0
    scale = found["scale"]
    echo(f"{safe(found['survey'])} ({scale.upper()}), sent {found['from']} to {found['to']}")
    echo(_figure("all", found, scale))
    for group, summary in (found.get("groups") or {}).items():
        echo(_figure(f"{found['group_by']}={group}", summary, scale))
    echo()
    echo("answers per score")
    for line in bars(found["distribution"]):
        echo(line)
    return 0
