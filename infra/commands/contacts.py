"""`crm contacts import FILE.csv` and `crm contacts show EMAIL`, through the same crm_core.leads logic.

Both talk to the contacts of one deployment, chosen with --endpoint:
- a local stack's URL (default http://127.0.0.1:3000, or $CRM_ENDPOINT): the stack is asked
  (GET /_local) where its moto server listens, and the template names the tables;
- `aws`: the account of the current AWS credentials, with the table names in CONTACTS_TABLE and
  ENROLLMENTS_TABLE, or looked up from a CloudFormation stack with --stack NAME.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.terminal import echo, echo_json

DEFAULT_ENDPOINT = "http://127.0.0.1:3000"
ROW_ATTEMPTS = 4


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    contacts = subparsers.add_parser("contacts", help="import leads from CSV, look up a contact")
    sub = contacts.add_subparsers(dest="contacts_command", required=True, metavar="ACTION")

    importer = sub.add_parser("import", help="import leads from a CSV file (the rules of POST /leads)")
    importer.add_argument("file", type=Path, help="CSV with a header row: email, first_name, ... (UTF-8)")
    importer.add_argument("--form-id", default="csv-import", help="form id recorded for rows without one")
    importer.add_argument(
        "--no-welcome", action="store_true", help="do not enroll new contacts in the welcome series"
    )
    _endpoint_arguments(importer)
    importer.set_defaults(run=run_import)

    show = sub.add_parser("show", help="show the contact of an email address and its enrollments")
    show.add_argument("email")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    _endpoint_arguments(show)
    show.set_defaults(run=run_show)

    from infra.commands import privacy  # noqa: PLC0415 - `crm contacts export` and `erase`

    privacy.register(sub)


def _endpoint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("CRM_ENDPOINT", DEFAULT_ENDPOINT),
        help=f"a local stack's URL (default {DEFAULT_ENDPOINT} or $CRM_ENDPOINT), or 'aws'",
    )
    parser.add_argument("--stack", help="with --endpoint aws: the CloudFormation stack to find the tables in")


# ---- where the contacts are ----------------------------------------------------------------------
def connect(endpoint: str, stack: str | None = None) -> None:
    """Point this process's clients at the deployment `endpoint` names (see the module docstring).

    Raises SystemExit with a readable message when the local stack does not answer.
    """
    from crm_core import aws
    from crm_core.models import reset_connections
    from crm_core.settings import reset_settings
    from infra.template import Template

    if endpoint == "aws":
        if stack:
            os.environ.update(_stack_tables(stack))
    else:
        try:
            with urllib.request.urlopen(endpoint.rstrip("/") + "/_local", timeout=10) as answer:  # noqa: S310
                info = json.load(answer)
        except OSError as exc:
            raise SystemExit(
                f"no local stack answers at {endpoint} ({exc}); start one with `make up`"
            ) from exc
        template = Template()
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        os.environ.update(
            AWS_ENDPOINT_URL=str(info["moto_endpoint"]),
            AWS_REGION=str(info.get("region", template.region)),
            AWS_DEFAULT_REGION=str(info.get("region", template.region)),
            **template.environment(),
        )
    reset_settings()
    aws.reset_clients()
    reset_connections()


def _stack_tables(stack: str) -> dict[str, str]:
    from infra.template import Template

    cloudformation = __import__("boto3").client("cloudformation")
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    }
    env = {}
    for name, value in Template().body["Globals"]["Function"]["Environment"]["Variables"].items():
        if isinstance(value, dict) and value.get("Ref") in physical:
            env[name] = physical[value["Ref"]]
    return env


# ---- import --------------------------------------------------------------------------------------
@dataclass
class ImportReport:
    created: int = 0
    merged: int = 0
    unchanged: int = 0  # the same row imported before: nothing written
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, what is wrong)

    @property
    def rows(self) -> int:
        return self.created + self.merged + self.unchanged + len(self.errors)


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; UTF-8 (with or without BOM), comma, semicolon or tab."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(text.splitlines(keepends=True), dialect=dialect)
    rows = []
    for row in reader:
        cleaned = {k.strip(): (v or "") for k, v in row.items() if k and k.strip()}
        if any(value.strip() for value in cleaned.values()):
            rows.append((reader.line_num, cleaned))
    return rows


def import_rows(
    rows: Iterable[tuple[int, dict[str, str]]], *, form_id: str, welcome: bool = True
) -> ImportReport:
    """Capture each row as a lead; a bad row is reported and the import goes on."""
    from crm_core import clock
    from crm_core.errors import RetryableError, ValidationFailed
    from crm_core.leads.merge import Source
    from crm_core.leads.service import capture
    from crm_core.leads.validation import read_submission

    report = ImportReport()
    for line, row in rows:
        try:
            submission = read_submission({"form_id": form_id, **row}, now=clock.now())
        except ValidationFailed as exc:
            report.errors.append((line, "; ".join(f"{e.field} {e.message}" for e in exc.errors)))
            continue
        if submission.lead is None:
            report.errors.append((line, "the honeypot column 'website' is filled: row skipped"))
            continue
        for attempt in range(ROW_ATTEMPTS):
            try:
                captured = capture(
                    submission.lead,
                    submission_id=submission.submission_id,
                    welcome=welcome,
                    source=Source.IMPORT,
                )
            except RetryableError as exc:
                if attempt == ROW_ATTEMPTS - 1:
                    report.errors.append((line, f"not stored: {exc}"))
                    break
                time.sleep(0.5 * 2**attempt)
                continue
            if captured.replayed:
                report.unchanged += 1
            elif captured.created:
                report.created += 1
            else:
                report.merged += 1
            break
    return report


def _progress(rows: list[tuple[int, dict[str, str]]]) -> Iterator[tuple[int, dict[str, str]]]:
    from tqdm import tqdm

    yield from tqdm(rows, unit="row", desc="importing", disable=None, file=sys.stderr)


def run_import(args: argparse.Namespace) -> int:
    rows = read_rows(args.file)
    connect(args.endpoint, args.stack)
    report = import_rows(_progress(rows), form_id=args.form_id, welcome=not args.no_welcome)
    echo(
        f"{report.rows} rows: {report.created} created, {report.merged} merged, "
        f"{report.unchanged} unchanged, {len(report.errors)} with errors"
    )
    for line, problem in report.errors:
        echo(f"  line {line}: {problem}")
    return 1 if report.errors else 0


# ---- show ----------------------------------------------------------------------------------------
def contact_view(email: str) -> dict[str, Any] | None:
    """The stored contact of `email` with its enrollments, as plain JSON-able data; None if unknown."""
    from crm_core.models import Contact, Enrollment, contact_id_for

    try:
        contact = Contact.get(contact_id_for(email), consistent_read=True)
    except Contact.DoesNotExist:
        return None
    view: dict[str, Any] = json.loads(json.dumps(contact.to_simple_dict(), default=str))
    view["enrollments"] = [
        {k: v for k, v in e.to_simple_dict().items() if k in {"enrollment_key", "status", "step", "due_at"}}
        for e in Enrollment.query(contact.contact_id)
    ]
    return view


def run_show(args: argparse.Namespace) -> int:
    connect(args.endpoint, args.stack)
    view = contact_view(args.email)
    if view is None:
        echo(f"no contact for {args.email}", file=sys.stderr)
        return 1
    if args.json:
        echo_json(view)
        return 0
    echo(format_view(view))
    return 0


def format_view(view: dict[str, Any]) -> str:
    """A contact as readable text, one attribute a line."""
    lines = [f"contact {view['contact_id']}"]
    order = [
        "email", "first_name", "last_name", "phone", "phone_raw", "company", "birthday", "locale",
        "time_zone", "consent", "marketing_opt_out", "first_touch", "last_touch", "custom", "posts",
        "created_at", "updated_at",
    ]  # fmt: skip
    for key in [*order, *sorted(set(view) - set(order) - {"contact_id", "enrollments", "recent_posts"})]:
        if view.get(key) not in (None, "", {}, []):
            value = view[key]
            text = ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
            lines.append(f"  {key:<18} {text}")
    for enrollment in view.get("enrollments", []):
        lines.append(
            f"  {'enrollment':<18} {enrollment['enrollment_key']}: {enrollment.get('status')}, "
            f"step {enrollment.get('step')}, due {enrollment.get('due_at') or '-'}"
        )
    return "\n".join(lines)
