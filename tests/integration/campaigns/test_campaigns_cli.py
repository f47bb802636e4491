"""`crm campaigns`: enroll a segment (idempotently) and read the campaigns' status."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from crm_core.models import Enrollment, contact_id_for
from infra.cli import main
from infra.commands import target
from tests.integration.campaigns.test_followup_sender import lead


@pytest.fixture(autouse=True)
def on_the_test_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands run on the moto stack the test set up, as they would on their --stack."""
    monkeypatch.setattr(target, "_override", target.InProcess())


def keys(address: str) -> list[str]:
    return [e.enrollment_key for e in Enrollment.query(contact_id_for(address))]


def test_enrolling_by_address_twice_enrolls_once_and_names_strangers(stack, frozen_clock, capsys) -> None:
    lead("ana@example.com")
    lead("bo@example.com")
    args = ["campaigns", "enroll", "win-back", "--email", "ana@example.com", "--email", "bo@example.com"]

    assert main([*args, "--email", "nobody@example.com"]) == 0
    assert main(args) == 0

    out, err = capsys.readouterr()
    assert "win-back: 2 enrolled, 1 not a contact" in out
    assert "win-back: 2 already enrolled" in out
    assert "not a contact: nobody@example.com" in err
    assert keys("ana@example.com") == ["win-back"]


def test_a_contacts_file_and_a_segment_of_all_contacts(stack, frozen_clock, capsys, tmp_path: Path) -> None:
    lead("it1@example.com", locale="it")
    lead("it2@example.com", locale="it")
    lead("en1@example.com", locale="en")
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("name,email\nOne,it1@example.com\nEn,en1@example.com\n")

    assert (
        main(["campaigns", "enroll", "win-back", "--contacts-file", str(csv_file), "--occurrence", "spring"])
        == 0
    )
    assert (
        main(["campaigns", "enroll", "win-back", "--all-contacts", "--where", "locale=it", "--dry-run"]) == 0
    )
    assert main(["campaigns", "enroll", "win-back", "--all-contacts", "--where", "locale=it"]) == 0

    out = capsys.readouterr().out
    assert "win-back: 2 enrolled" in out and "win-back: 2 would enroll" in out
    assert keys("it1@example.com") == ["win-back", "win-back#spring"]
    assert keys("en1@example.com") == ["win-back#spring"]


def test_an_unknown_campaign_or_filter_is_refused(stack, capsys) -> None:
    assert main(["campaigns", "enroll", "black-friday", "--email", "a@example.com"]) == 2
    assert "no campaign 'black-friday'" in capsys.readouterr().err
    assert main(["campaigns", "enroll", "win-back", "--all-contacts", "--where", "password=x"]) == 2
    assert "use FIELD=VALUE" in capsys.readouterr().err


def test_status_counts_enrollments_by_campaign_and_state(stack, frozen_clock, capsys) -> None:
    from tests.integration.campaigns.test_followup_sender import run

    for address in ("s1@example.com", "s2@example.com"):
        lead(address)
        main(["campaigns", "enroll", "welcome", "--email", address])
    lead("s3@example.com", marketing_opt_out=True)
    main(["campaigns", "enroll", "welcome", "--email", "s3@example.com"])
    assert main(["campaigns", "status"]) == 0
    assert "due now (2026-11-23T10:00:00Z): welcome 3" in capsys.readouterr().out

    run()
    frozen_clock.set(frozen_clock.now().replace(day=25))
    run()
    assert main(["campaigns", "status", "--campaign", "welcome"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"welcome +active, next check-in +2\n", out)
    assert re.search(r"welcome +exited \(unsubscribed\) +1\n", out)
    assert "due now (2026-11-25T10:00:00Z): nothing" in out
    assert main(["campaigns", "status", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["now"] == "2026-11-25T10:00:00Z" and shown["due"] == {}
    assert {"campaign": "welcome", "status": "exited (unsubscribed)", "count": 1} in shown["enrollments"]
