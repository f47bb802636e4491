"""POST /leads and the addresses SES can send to: refused at the door with the rule, or stored as sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crm_core.contacts.identity import NON_ASCII_LOCAL_PART
from crm_core.models import Contact, contact_id_for
from tests.helpers import http_event, load_handler


@pytest.fixture
def post(stack: Any, frozen_clock: Any, lambda_context: Any) -> Any:
    handler = load_handler("capture_lead")

    def send(fields: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = handler.lambda_handler(
            http_event("POST", "/leads", body=fields), lambda_context
        )
        return answer

    return send


@pytest.mark.parametrize("address", ["jörg@müller.de", "jörg@example.com", "用户@例子.广告"])
def test_a_utf8_local_part_is_refused_with_a_400_naming_the_rule(post: Any, address: str) -> None:
    answer = post({"email": address})
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"]) == {
        "errors": [
            {
                "field": "email",
                "message": NON_ASCII_LOCAL_PART,
                "text": "Enter an email address like name@example.com.",
            }
        ]
    }


def test_an_international_domain_is_stored_as_punycode_and_is_one_contact_in_both_spellings(
    post: Any,
) -> None:
    first = post({"email": "user@exämple.de", "first_name": "Ute"})
    second = post({"email": "user@xn--exmple-cua.de", "company": "Exämple GmbH"})
    assert (first["statusCode"], second["statusCode"]) == (201, 200)
    assert (
        json.loads(first["body"])
        == json.loads(second["body"])
        == {"contact_id": contact_id_for("user@exämple.de")}
    )
    stored = Contact.get(contact_id_for("user@xn--exmple-cua.de"), consistent_read=True)
    assert (stored.email, stored.first_name, stored.company) == (
        "user@xn--exmple-cua.de",
        "Ute",
        "Exämple GmbH",
    )
