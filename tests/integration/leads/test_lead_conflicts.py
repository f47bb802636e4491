"""No conflict accepted in silence on POST /leads: a reused Idempotency-Key with another lead is a 409,
a key over the limit is refused (never truncated into a collision)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crm_core.models import Contact, contact_id_for
from tests.helpers import http_event, load_handler


@pytest.fixture
def post(stack: Any, frozen_clock: Any, lambda_context: Any) -> Any:
    handler = load_handler("capture_lead")

    def send(fields: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        headers = {"idempotency-key": key} if key is not None else None
        answer: dict[str, Any] = handler.lambda_handler(
            http_event("POST", "/leads", body=fields, headers=headers), lambda_context
        )
        return answer

    return send


def test_a_reused_key_with_another_lead_is_a_409_and_changes_nothing(post: Any) -> None:
    assert post({"email": "ana@example.com", "first_name": "Ana"}, "order-form-1")["statusCode"] == 201
    answer = post({"email": "ana@example.com", "first_name": "Mallory"}, "order-form-1")
    assert answer["statusCode"] == 409
    assert json.loads(answer["body"]) == {
        "errors": [
            {
                "field": "Idempotency-Key",
                "message": "this Idempotency-Key was already used for a different lead",
                # the visitor's wording (the form shows it): the site's fault, not theirs
                "text": "This form has a technical problem (Idempotency-Key). Please contact us another "
                "way; we are sorry.",
            }
        ]
    }
    assert Contact.get(contact_id_for("ana@example.com")).first_name == "Ana"
    assert (
        post({"email": "ana@example.com", "first_name": "Ana"}, "order-form-1")["statusCode"] == 201
    )  # replay


@pytest.mark.parametrize(("key", "problem"), [("k" * 201, "at most 200"), ("clé-ü", "printable ASCII")])
def test_a_key_over_the_limit_or_not_ascii_is_refused_not_truncated(
    post: Any, key: str, problem: str
) -> None:
    answer = post({"email": "ana@example.com"}, key)
    assert answer["statusCode"] == 400
    [error] = json.loads(answer["body"])["errors"]
    assert error["field"] == "Idempotency-Key" and problem in error["message"]


def test_two_long_keys_that_share_their_first_200_characters_are_not_one_submission(post: Any) -> None:
    assert post({"email": "ana@example.com"}, "k" * 200)["statusCode"] == 201
    assert post({"email": "ana@example.com"}, "k" * 199 + "j")["statusCode"] == 200
