"""`crm contacts import` and `crm contacts show`: the rules of POST /leads, row by row, on moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crm_core.models import Contact, Enrollment, contact_id_for
from infra.cli import main
from infra.commands import contacts, target

CSV = """\ufeffemail;first_name;last_name;phone;locale;birthday;plan
zoe@example.com;Zoë;Müller-Łukasiewicz;+49 30 1234567;de;--05-17;pro
putu@example.id;Putu Ayu;;0812 3456 7890;id;;
not-an-address;Bad;Row;;;;
ana@example.com;Ana;;;;1990-02-30;
;;;;;;
ZOE@example.com;;;;;;enterprise
"""


@pytest.fixture
def cli(stack: Any, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    # The stack fixture already points every client at moto; the CLI's own connect() is for real use.
    monkeypatch.setattr(target, "_override", target.InProcess())
    return main


def test_import_reports_bad_rows_and_goes_on(cli: Any, tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(CSV, encoding="utf-8")

    assert cli(["contacts", "import", str(path)]) == 1  # some rows failed
    out = capsys.readouterr().out
    assert "5 rows: 2 created, 1 merged, 0 unchanged, 2 with errors" in out
    assert "line 4: email is not a valid address" in out
    assert "line 5: birthday is not a real date" in out
    zoe = Contact.get(contact_id_for("zoe@example.com"))
    assert (zoe.first_name, zoe.phone, zoe.birthday, zoe.custom.as_dict()) == (
        "Zoë",
        "+49301234567",
        "--05-17",
        {"plan": "enterprise"},
    )
    assert zoe.first_touch.form_id == "csv-import"
    assert list(Enrollment.query(zoe.contact_id)) == []  # imported people did not write to us: no welcome


def test_importing_the_same_file_again_changes_nothing(cli: Any, tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("email,first_name\nana@example.com,Ana\nputu@example.id,Putu Ayu\n", encoding="utf-8")
    assert cli(["contacts", "import", str(path)]) == 0
    assert cli(["contacts", "import", str(path)]) == 0
    assert "2 rows: 0 created, 0 merged, 2 unchanged, 0 with errors" in capsys.readouterr().out
    assert Contact.get(contact_id_for("ana@example.com")).posts == 1
    assert list(Enrollment.query(contact_id_for("ana@example.com"))) == []


def test_show_prints_the_contact_and_its_enrollments(cli: Any, capsys: Any) -> None:
    rows = [
        (2, {"email": "putu@example.id", "name": "Putu Ayu", "consent": "yes", "time_zone": "Asia/Makassar"})
    ]
    contacts.import_rows(rows, form_id="fair-2026", enroll_in="welcome")
    capsys.readouterr()

    assert cli(["contacts", "show", "Putu@Example.id"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"contact {contact_id_for('putu@example.id')}")
    assert "first_name         Putu Ayu  (import)" in text  # and where the field came from
    assert "time_zone          Asia/Makassar" in text
    assert "enrollment         welcome: active, step 0, due 2026-11-23T10:00:00Z" in text

    assert cli(["contacts", "show", "putu@example.id", "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["consent"]["current"]["granted"] is True
    assert view["origin"]["first_touch"]["form_id"] == "fair-2026"

    assert cli(["contacts", "show", "nobody@example.com"]) == 1
    assert "no contact for nobody@example.com" in capsys.readouterr().err


def test_connect_says_how_to_start_a_stack_when_none_answers() -> None:
    with pytest.raises(target.Unreachable, match="make up"):
        target.Target(endpoint="http://127.0.0.1:9").connect()  # the discard port: nothing listens there


@pytest.fixture
def chatty_leads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lead code logs a warning per row, as it does on a busy day."""
    from crm_core.leads import service
    from crm_core.observability import get_logger

    captured = service.capture

    def chatty_capture(*args: Any, **kwargs: Any) -> Any:
        get_logger().warning("DynamoDB is busy, retrying", extra={"attempt": 1})
        return captured(*args, **kwargs)

    monkeypatch.setattr(service, "capture", chatty_capture)


@pytest.mark.parametrize(
    ("encoding", "options"),
    [("cp1252", []), ("latin-1", []), ("utf-16", []), ("utf-8", []), ("cp1252", ["--encoding", "cp1252"])],
)
@pytest.mark.usefixtures("chatty_leads")
def test_what_spreadsheets_write_is_read_in_its_encoding(
    cli: Any, tmp_path: Path, capfd: Any, encoding: str, options: list[str]
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes("email;first_name;last_name\r\nzoe@example.com;Zoë;Müller\r\n".encode(encoding))

    assert cli(["contacts", "import", str(path), *options]) == 0

    out, err = capfd.readouterr()  # what reaches the terminal, whoever wrote it
    assert "1 rows: 1 created" in out
    assert "{" not in out + err  # no JSON log line among the report and the progress bar
    zoe = Contact.get(contact_id_for("zoe@example.com"))
    assert (zoe.first_name, zoe.last_name) == ("Zoë", "Müller")


def test_an_import_can_enroll_new_contacts_in_a_campaign_it_names(
    cli: Any, tmp_path: Path, capsys: Any
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("email\nana@example.com\n", encoding="utf-8")

    assert cli(["contacts", "import", str(path), "--enroll", "no-such-campaign"]) == 2
    assert "--enroll: no campaign 'no-such-campaign'" in capsys.readouterr().err
    assert cli(["contacts", "import", str(path), "--enroll", "win-back"]) == 0
    assert [e.enrollment_key for e in Enrollment.query(contact_id_for("ana@example.com"))] == ["win-back"]


def test_a_missing_file_or_a_wrong_encoding_is_one_line(cli: Any, tmp_path: Path, capsys: Any) -> None:
    assert cli(["contacts", "import", str(tmp_path / "nope.csv")]) == 2
    err = capsys.readouterr().err
    assert err == f"crm: no such file: {tmp_path / 'nope.csv'}\n"
    path = tmp_path / "leads.csv"
    path.write_bytes("email\nzoë@example.com\n".encode("cp1252"))
    assert cli(["contacts", "import", str(path), "--encoding", "utf-8"]) == 2
    assert "try another --encoding" in capsys.readouterr().err
    assert cli(["contacts", "import", str(path), "--encoding", "klingon"]) == 2
    assert "not an encoding" in capsys.readouterr().err
