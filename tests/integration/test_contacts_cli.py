"""`crm contacts import` and `crm contacts show`: the rules of POST /leads, row by row, on moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crm_core.models import Contact, Enrollment, contact_id_for
from infra.cli import main
from infra.commands import contacts

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
    monkeypatch.setattr(contacts, "connect", lambda endpoint, stack=None: None)
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
    assert [e.enrollment_key for e in Enrollment.query(zoe.contact_id)] == ["welcome"]


def test_importing_the_same_file_again_changes_nothing(cli: Any, tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("email,first_name\nana@example.com,Ana\nputu@example.id,Putu Ayu\n", encoding="utf-8")
    assert cli(["contacts", "import", str(path), "--no-welcome"]) == 0
    assert cli(["contacts", "import", str(path), "--no-welcome"]) == 0
    assert "2 rows: 0 created, 0 merged, 2 unchanged, 0 with errors" in capsys.readouterr().out
    assert Contact.get(contact_id_for("ana@example.com")).posts == 1
    assert list(Enrollment.query(contact_id_for("ana@example.com"))) == []


def test_show_prints_the_contact_and_its_enrollments(cli: Any, capsys: Any) -> None:
    rows = [
        (2, {"email": "putu@example.id", "name": "Putu Ayu", "consent": "yes", "time_zone": "Asia/Makassar"})
    ]
    contacts.import_rows(rows, form_id="fair-2026")
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
    with pytest.raises(SystemExit, match="make up"):
        contacts.connect("http://127.0.0.1:9")  # the discard port: nothing listens there
