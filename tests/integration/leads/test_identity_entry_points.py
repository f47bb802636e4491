"""One person, one contact, at the entry points other than forms and orders: inbound mail and the CSV
import use the same normalization (crm_core.contacts.identity)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crm_core.cases import store
from crm_core.models import Contact, contact_id_for
from infra.cli import main
from infra.commands import target
from tests.complaints import compose, ses_event
from tests.helpers import http_event, load_handler


def test_mail_from_either_spelling_of_an_international_domain_is_one_contact(
    stack: Any, frozen_clock: Any, lambda_context: Any
) -> None:
    handler = load_handler("route_complaint")
    cases = []
    for n, sender in enumerate(["Ute <ute@exämple.de>", "Ute <UTE@xn--exmple-cua.de>"]):
        event = ses_event(compose(sender=sender, subject=f"Frage {n}"))
        (result,) = handler.lambda_handler(event, lambda_context)["cases"]
        cases.append(store.get_case(result["case_id"]))
    assert {c.contact_id for c in cases if c} == {contact_id_for("ute@xn--exmple-cua.de")}
    assert {c.email for c in cases if c} == {"ute@xn--exmple-cua.de"}


def test_an_import_and_a_form_post_of_either_spelling_are_one_contact_and_the_import_is_trusted_more(
    stack: Any, frozen_clock: Any, lambda_context: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(target, "_override", target.InProcess())
    path = tmp_path / "leads.csv"
    path.write_text("email,first_name\nute@exämple.de,Ute\n", encoding="utf-8")
    assert main(["contacts", "import", str(path)]) == 0

    form = {"email": "ute@xn--exmple-cua.de", "first_name": "Mallory"}
    answer = load_handler("capture_lead").lambda_handler(
        http_event("POST", "/leads", body=form), lambda_context
    )

    assert answer["statusCode"] == 200  # merged into the imported contact
    ute = Contact.get(contact_id_for("ute@exämple.de"))
    assert (ute.email, ute.first_name, ute.field_sources["first_name"]) == (
        "ute@xn--exmple-cua.de",
        "Ute",
        "import",
    )
