"""`crm surveys results --survey NAME [--from D] [--to D] [--group-by locale|team|tier]`.

On the local stack (the default target) it asks GET /surveys/results over HTTP; on a deployed stack
(`--stack NAME`) it reads the counters with your AWS credentials (the deployed route wants IAM
signatures), through the same crm_core.surveys.results the route uses. It prints the figures and a
small bar chart of the answers per score (`--json`: the route's JSON).
"""

from __future__ import annotations

import argparse
from typing import Any

from infra.commands.target import CliError, UsageProblem, add_target_options, target_of
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
    add_target_options(results, json=True)
    results.set_defaults(run=_results)


def _fetch(args: argparse.Namespace) -> dict[str, Any]:
    """The results as the route answers them; raises UsageProblem for a value it refuses."""
    query = {"survey": args.survey, "from": args.start, "to": args.end, "group_by": args.group_by}
    target = target_of(args)
    if target.local:
        response = target.client().get("/surveys/results", params={k: v for k, v in query.items() if v})
        if response.status == 400:
            errors = response.json().get("errors", [])
            raise UsageProblem("; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors))
        if response.status != 200:
            raise CliError(f"GET /surveys/results answered {response.status}: {response.text[:200]}")
        return response.json()  # type: ignore[no-any-return]
    target.connect()
    from crm_core.errors import ValidationFailed
    from crm_core.surveys import results

    try:
        return results.results(args.survey, args.start, args.end, args.group_by)
    except ValidationFailed as exc:
        raise UsageProblem("; ".join(f"{e.field}: {e.message}" for e in exc.errors)) from None


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
    found = _fetch(args)
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
