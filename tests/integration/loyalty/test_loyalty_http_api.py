"""The loyalty HTTP API with API Gateway v2 events: what the shop's checkout and account page see."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crm_core import loyalty
from crm_core.models import Contact, contact_id_for
from tests.loyalty_data import ANA, balance_of, purchase
from tests.loyalty_helpers import http_event, load_handler

CID = contact_id_for(ANA)
BASE = f"/contacts/{CID}/loyalty"


@pytest.fixture
def api(stack, frozen_clock, lambda_context):  # type: ignore[no-untyped-def]
    handler = load_handler("serve_loyalty").lambda_handler
    Contact(CID, email=ANA, created_at=frozen_clock.now()).save()

    def call(method: str, path: str, route: str, **kwargs: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        response = handler(http_event(method, path, route=route, **kwargs), lambda_context)
        return response["statusCode"], json.loads(response["body"]), response.get("headers", {})

    return call


def redeem(api, points: Any, key: str | None = "checkout-1", **kwargs: Any):  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": key} if key is not None else {}
    route = "POST /contacts/{contact_id}/loyalty/redemptions"
    return api("POST", f"{BASE}/redemptions", route, body={"points": points}, headers=headers, **kwargs)


def test_the_balance_shows_points_tier_and_what_comes_next(api) -> None:
    loyalty.apply_order_event(purchase("A-1", "450.00"))

    status, body, _ = api("GET", BASE, "GET /contacts/{contact_id}/loyalty")

    assert status == 200
    assert body["balance"] == 550 and body["debt"] == 0 and body["lifetime_points"] == 550
    assert body["tier"] == "bronze"
    assert body["next_tier"] == {"name": "silver", "points_needed": 50}
    assert body["next_expiry"] == {"on": "2027-11-23", "points": 550}


def test_an_unknown_contact_is_404(api) -> None:
    status, body, _ = api("GET", "/contacts/ct_nobody/loyalty", "GET /contacts/{contact_id}/loyalty")
    assert status == 404 and "does not exist" in body["errors"][0]["message"]


def test_a_redemption_is_201_once_and_the_replay_answers_the_same(api) -> None:
    loyalty.apply_order_event(purchase("A-1", "100.00"))

    first = redeem(api, 120)
    again = redeem(api, 120)

    assert first[:2] == (201, {"redemption_id": "checkout-1", "points": 120, "balance": 80})
    assert again[:2] == first[:2]
    assert again[2].get("Idempotent-Replayed") == "true"
    assert balance_of(ANA) == 80


def test_a_reused_idempotency_key_with_another_order_is_409_with_a_message(api) -> None:
    loyalty.apply_order_event(purchase("A-1", "100.00"))
    route = "POST /contacts/{contact_id}/loyalty/redemptions"
    headers = {"Idempotency-Key": "checkout-9"}
    first = api("POST", f"{BASE}/redemptions", route, body={"points": 10, "order_id": "S-1"}, headers=headers)

    other = api("POST", f"{BASE}/redemptions", route, body={"points": 10, "order_id": "S-2"}, headers=headers)

    assert first[0] == 201
    message = other[1]["errors"][0]["message"]
    assert other[0] == 409 and "checkout-9" in message and "S-1" in message
    assert balance_of(ANA) == 190


def test_an_idempotency_key_over_the_limit_is_refused_not_truncated(api) -> None:
    loyalty.apply_order_event(purchase("A-1", "100.00"))

    status, body, _ = redeem(api, 10, key="k" * 129)

    assert status == 400 and body["errors"][0]["field"] == "Idempotency-Key"


def test_a_body_sent_base64_encoded_is_read_the_same(api) -> None:
    loyalty.apply_order_event(purchase("A-1", "100.00"))
    assert redeem(api, 10, base64_body=True)[0] == 201


def test_a_short_balance_is_409_with_what_is_available(api) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))

    status, body, _ = redeem(api, 500)

    assert status == 409
    assert (body["requested"], body["available"]) == (500, 110)
    assert balance_of(ANA) == 110


@pytest.mark.parametrize(
    ("points", "key", "field"),
    [(10, None, "Idempotency-Key"), (0, "k", "points"), ("ten", "k", "points"), (1.5, "k", "points")],
)
def test_a_bad_redemption_is_400_naming_the_field(api, points: Any, key: str | None, field: str) -> None:
    status, body, _ = redeem(api, points, key=key)
    assert status == 400
    assert field in [error["field"] for error in body["errors"]]


def test_history_pages_with_an_opaque_cursor(api) -> None:
    for n in range(3):
        loyalty.apply_order_event(purchase(f"A-{n}", "10.00"))
    route = "GET /contacts/{contact_id}/loyalty/history"

    status, first, _ = api("GET", f"{BASE}/history", route, query={"limit": "2"})
    _, second, _ = api("GET", f"{BASE}/history", route, query={"limit": "2", "cursor": first["next_cursor"]})

    assert status == 200
    ids = [e["id"] for e in first["entries"] + second["entries"]]
    assert ids == ["purchase#A-2", "purchase#A-1", "purchase#A-0"]
    assert first["entries"][0]["points"] == 10 and first["entries"][0]["rule_version"] == "2026-01"
    assert second["next_cursor"] is None
    assert api("GET", f"{BASE}/history", route, query={"cursor": "forged"})[0] == 400
    assert api("GET", f"{BASE}/history", route, query={"limit": "1000"})[0] == 400
