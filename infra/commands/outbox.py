"""`crm outbox`: the emails a running local stack has sent, as a table (or JSON)."""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from infra.commands.target import add_target_options, target_of
from infra.terminal import echo, echo_json


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    outbox = subparsers.add_parser("outbox", help="list the emails the local stack sent")
    outbox.add_argument("--full", action="store_true", help="also print each email's text")
    add_target_options(outbox, json=True)
    outbox.set_defaults(run=outbox_command)


def outbox_command(args: argparse.Namespace) -> int:
    target = target_of(args)
    target.require_local("the outbox (the emails a stack sent, kept by its moto SES)")
    emails = target.client(timeout=10).outbox()
    if args.json:
        echo_json(emails)
    else:
        echo(render(emails, full=args.full))
    return 0


def render(emails: list[dict[str, Any]], full: bool = False) -> str:
    """A readable table of sent emails: number, local time sent, recipient, subject."""
    if not emails:
        return "The outbox is empty: no email has been sent."
    rows = [
        (str(n), str(e.get("sent_at") or "?"), str(e.get("to", "")), str(e.get("subject", "")))
        for n, e in enumerate(emails, 1)
    ]
    header = ("#", "sent at (local clock)", "to", "subject")
    widths = [min(60, max(len(r[i]) for r in [header, *rows])) for i in range(4)]
    lines = [_row(header, widths), "  ".join("-" * w for w in widths)]
    for row, email in zip(rows, emails, strict=True):
        lines.append(_row(row, widths))
        if full:
            lines += _text_lines(email)
    lines.append(f"{len(emails)} email(s).")
    return "\n".join(lines)


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    """Cells padded to their column's width, a cell too long cut with an ellipsis."""
    cut = [cell if len(cell) <= w else cell[: w - 1] + "…" for cell, w in zip(cells, widths, strict=True)]
    return "  ".join(c.ljust(w) for c, w in zip(cut, widths, strict=True)).rstrip()


def _text_lines(email: dict[str, Any]) -> list[str]:
    body = str(email.get("text") or "").strip()
    return [*(textwrap.indent(body, "      | ").splitlines() or ["      | (no text part)"]), ""]
