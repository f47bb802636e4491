"""`crm contacts import FILE.csv` and `crm contacts show EMAIL`, through the same crm_core.leads logic.

Both work on the contacts of the target (infra/commands/target.py): the local stack by default, or a
deployed stack with `--stack NAME`. An import enrolls nobody by default: imported people did not
write to us, so the welcome series ("thank you for writing to us") is not theirs; `--enroll CAMPAIGN`
starts a campaign meant for imported contacts (campaigns.yaml's `imported`, for one).
"""

from __future__ import annotations

import argparse
import codecs
import csv
import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.commands.target import CliError, UsageProblem, add_target_options, contact_id_of, target_of
from infra.terminal import echo, echo_json

ROW_ATTEMPTS = 4


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    contacts = subparsers.add_parser("contacts", help="import leads from CSV, look up a contact")
    sub = contacts.add_subparsers(dest="contacts_command", required=True, metavar="ACTION")

    importer = sub.add_parser("import", help="import leads from a CSV file (the rules of POST /leads)")
    importer.add_argument(
        "file",
        type=Path,
        help="CSV with a header row: email, first_name, ... (UTF-8, UTF-16 or Windows-1252)",
    )
    importer.add_argument(
        "--encoding",
        default=None,
        help="the file's encoding (default: detected; UTF-8 or UTF-16 with a BOM, UTF-8, else Windows-1252)",
    )
    importer.add_argument("--form-id", default="csv-import", help="form id recorded for rows without one")
    importer.add_argument(
        "--enroll",
        metavar="CAMPAIGN",
        default=None,
        help="enroll new contacts in this campaign of campaigns.yaml (default: none)",
    )
    add_target_options(importer)
    importer.set_defaults(run=run_import)

    show = sub.add_parser(
        "show", help="everything known about a contact (the 360 of GET /contacts/{id}), by address or id"
    )
    show.add_argument(
        "email", metavar="EMAIL", help="the contact's email address (any spelling), or its id (ct_...)"
    )
    for part in ("messages", "cases", "ledger"):
        show.add_argument(
            f"--{part}-cursor", help=f"the next page of {part} (a next_cursor of a previous answer)"
        )
    add_target_options(show, json=True)
    show.set_defaults(run=run_show)

    from infra.commands import privacy  # `crm contacts export` and `erase`

    privacy.register_under_contacts(sub)


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


def decode(raw: bytes, encoding: str | None = None) -> str:
    """The text of a CSV file: in `encoding` if given, else detected (what spreadsheets write):
    UTF-16 or UTF-8 by their BOM, UTF-8 if it decodes, else Windows-1252 (a superset of Latin-1's
    printable characters). Raises UsageProblem for an unknown encoding or bytes it cannot read."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
            return raw.decode(encoding).removeprefix("\ufeff")
        except LookupError:
            raise UsageProblem(
                f"--encoding {encoding!r} is not an encoding Python knows (try cp1252)"
            ) from None
        except UnicodeDecodeError as exc:
            raise UsageProblem(
                f"the file is not {encoding} (byte {exc.start}): try another --encoding"
            ) from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def read_rows(path: Path, encoding: str | None = None) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; any encoding `decode` reads, comma, semicolon or tab.

    Raises UsageProblem when the file does not exist or cannot be read.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageProblem(f"no such file: {path}") from None
    except OSError as exc:
        raise UsageProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    text = decode(raw, encoding)
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
    rows: Iterable[tuple[int, dict[str, str]]], *, form_id: str, enroll_in: str | None = None
) -> ImportReport:
    """Capture each row as a lead; a bad row is reported and the import goes on. A new contact is
    enrolled in `enroll_in` (a campaign meant for imported contacts), or in nothing."""
    from crm_core import clock
    from crm_core.errors import RetryableError, ValidationFailed
    from crm_core.leads.merge import Source
    from crm_core.leads.service import capture
    from crm_core.leads.validation import read_submission

    if enroll_in:
        from crm_core.campaigns.enrollment import enroll

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
                    welcome=False,
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
                if enroll_in:
                    enroll(captured.contact_id, enroll_in, at=clock.now())
            else:
                report.merged += 1
            break
    return report


class _quiet_logs:  # noqa: N801 - a context manager named for what it does
    """Keep crm_core's structured JSON log lines out of the progress bar: the import's outcome is its
    report, where every refused row is listed with its reason."""

    def __enter__(self) -> None:
        logging.disable(logging.CRITICAL)

    def __exit__(self, *exc: object) -> None:
        logging.disable(logging.NOTSET)


def _progress(rows: list[tuple[int, dict[str, str]]]) -> Iterator[tuple[int, dict[str, str]]]:
    from tqdm import tqdm

    yield from tqdm(rows, unit="row", desc="importing", disable=None, file=sys.stderr)


def run_import(args: argparse.Namespace) -> int:
    rows = read_rows(args.file, args.encoding)
    target = target_of(args)
    target.connect()
    if args.enroll:
        from crm_core.campaigns import definitions

        catalog = definitions.load()
        if catalog.get(args.enroll) is None:
            raise UsageProblem(
                f"--enroll: no campaign {args.enroll!r}; "
                f"campaigns.yaml has {', '.join(sorted(catalog.campaigns))}"
            )
    with _quiet_logs():
        report = import_rows(_progress(rows), form_id=args.form_id, enroll_in=args.enroll)
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
    from crm_core.models import Contact, Enrollment

    try:
        contact = Contact.get(contact_id_of(email), consistent_read=True)
    except Contact.DoesNotExist:
        return None
    view: dict[str, Any] = json.loads(json.dumps(contact.to_simple_dict(), default=str))
    view["enrollments"] = [
        {k: v for k, v in e.to_simple_dict().items() if k in {"enrollment_key", "status", "step", "due_at"}}
        for e in Enrollment.query(contact.contact_id)
    ]
    return view


def run_show(args: argparse.Namespace) -> int:
    from crm_core.contacts import view as contacts_view
    from crm_core.errors import NotFound, ValidationFailed

    target_of(args).connect()
    cursors = {
        f"{part}_cursor": getattr(args, f"{part}_cursor", None) for part in ("messages", "cases", "ledger")
    }
    try:
        view = contacts_view.contact_360(contact_id_of(args.email), cursors)
    except NotFound:
        raise CliError(f"no contact for {args.email}: check the address, or the target (--stack)") from None
    except ValidationFailed as exc:
        raise UsageProblem(str(exc)) from None
    if args.json:
        echo_json(view)
        return 0
    echo(format_360(view))
    return 0


def _line(label: str, text: object) -> str:
    return f"  {label:<18} {text}"


def format_360(view: dict[str, Any]) -> str:
    """The contact 360 as readable text: profile, consent, owner, tasks, enrollments, messages, cases,
    loyalty, timeline (the JSON has every field; the text shows what a person reads at a glance)."""
    lines = [f"contact {view['contact_id']}"]
    lines += _profile_lines(view)
    lines += _relationship_lines(view)
    lines += _activity_lines(view)
    return "\n".join(lines)


def _profile_lines(view: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    sources = view.get("field_sources", {})
    for key, value in view.get("profile", {}).items():
        text = ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
        source = f"  ({sources[key]})" if key in sources else ""
        lines.append(_line(key, f"{text}{source}"))
    lines += _value_and_stage_lines(view)
    return lines


def _value_and_stage_lines(view: dict[str, Any]) -> list[str]:
    """The relationship's worth and stage in a line each (`--json` has the stored maps whole)."""
    lines: list[str] = []
    value = view.get("value")
    if isinstance(value, dict):
        lines.append(_line("value", _value_text(value)))
    if view.get("most_valuable"):
        lines.append(_line("most valuable", "yes (top share by 12-month value)"))
    lifecycle = view.get("lifecycle")
    if isinstance(lifecycle, dict) and lifecycle.get("stage"):
        since = str(lifecycle.get("since") or "")[:10]
        reason = f" ({lifecycle['reason']})" if lifecycle.get("reason") else ""
        lines.append(_line("lifecycle", f"{lifecycle['stage']} since {since}{reason}"))
    return lines


def _value_text(value: dict[str, Any]) -> str:
    figures = value.get("figures") or {}
    parts = [
        f"segment {value['segment']}" if value.get("segment") else "",
        f"{figures['frequency_12m']} order(s) in 12 months" if "frequency_12m" in figures else "",
        f"spent {figures['monetary_12m']}" if figures.get("monetary_12m") else "",
        f"predicted 12-month value {figures['predicted_12m']}" if figures.get("predicted_12m") else "",
    ]
    return ", ".join(p for p in parts if p) or "-"


def _relationship_lines(view: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    consent = view.get("consent", {})
    current = consent.get("current") or {}
    state = "granted" if current.get("granted") else "not given"
    lines.append(_line("consent", f"{state}{' (opted out)' if consent.get('marketing_opt_out') else ''}"))
    for event in consent.get("history", []):
        lines.append(_line("", f"{event.get('at')}: {event.get('event')} via {event.get('source') or '-'}"))
    if view.get("suppression"):
        sup = view["suppression"]
        lines.append(_line("suppressed", f"{sup['scope']} ({sup['reason']}, {sup['at']})"))
    owner = view.get("owner")
    lines.append(_line("owner", f"{owner['name']} <{owner['email']}> ({owner['set_by']})" if owner else "-"))
    for task in view.get("open_tasks", []):
        lines.append(_line("task", f"due {task['due']}: {task['note']} [{task['created_by']}]"))
    return lines


def _activity_lines(view: dict[str, Any]) -> list[str]:
    lines = [_line("enrollment", _enrollment_text(e)) for e in view.get("enrollments", [])]
    for message in view.get("messages", {}).get("items", []):
        lines.append(_line("message", f"{message['at']} {message['kind']}: {message['outcome']}"))
    lines += [_line("case", _case_text(case)) for case in view.get("cases", {}).get("items", [])]
    loyalty = view.get("loyalty", {})
    lines.append(_line("points", f"{loyalty.get('balance', 0)} ({loyalty.get('tier') or 'no tier'})"))
    for entry in loyalty.get("entries", {}).get("items", []):
        lines.append(_line("", f"{entry['recorded_at']} {entry['kind']} {entry['points']:+}"))
    for line in view.get("timeline", []):
        if line["type"] == "note":
            lines.append(_line("note", f"{line['at']} {line['author']}: {line['text']}"))
    return lines + _more_lines(view)


def _enrollment_text(enrollment: dict[str, Any]) -> str:
    return (
        f"{enrollment['enrollment_key']}: {enrollment.get('status')}, "
        f"step {enrollment.get('step')}, due {enrollment.get('due_at') or '-'}"
    )


def _case_text(case: dict[str, Any]) -> str:
    last = case.get("last_event") or {}
    return (
        f"{case['case_id']} {case['status']}, {case['priority']}: {case.get('subject') or ''} "
        f"(last: {last.get('kind', '-')} {last.get('at', '')})"
    )


def _more_lines(view: dict[str, Any]) -> list[str]:
    """The cursor options that show the next page of each paginated part."""
    cursors = {part: view.get(part, {}).get("next_cursor") for part in ("messages", "cases")}
    cursors["ledger"] = view.get("loyalty", {}).get("entries", {}).get("next_cursor")
    return [_line("more", f"--{part}-cursor {cursor}") for part, cursor in cursors.items() if cursor]
