"""What a lead costs in DynamoDB calls: counted on the wire (every botocore call), not estimated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.client import BaseClient

from tests.helpers import http_event, load_handler

READS = {"GetItem", "BatchGetItem", "TransactGetItems", "Query", "Scan"}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Names of the DynamoDB operations made from here on, by any client (boto3 or pynamodb's)."""
    made: list[str] = []
    real = BaseClient._make_api_call

    def counting(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            made.append(operation_name)
        return real(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    yield made


@pytest.fixture
def post(stack: Any, frozen_clock: Any, lambda_context: Any) -> Any:
    handler = load_handler("capture_lead")

    def send(lead: dict[str, Any]) -> int:
        answer = handler.lambda_handler(http_event("POST", "/leads", body=lead), lambda_context)
        return int(answer["statusCode"])

    return send


def test_a_new_lead_costs_exactly_one_write_and_no_read(post: Any, calls: list[str]) -> None:
    assert post({"email": "ana@example.com", "first_name": "Ana"}) == 201
    # One TransactWriteItems holds the contact and its welcome enrollment.
    assert calls == ["TransactWriteItems"]


def test_a_consent_costs_one_suppression_read_more(post: Any, calls: list[str]) -> None:
    # A consent for an address that unsubscribed must be confirmed by its owner, and an erased
    # contact leaves only its suppression behind, under a keyed hash of the address:
    # one GetItem for the address's own item and, when it has none, one for the erased one's.
    assert post({"email": "ana@example.com", "first_name": "Ana", "consent": True}) == 201
    assert calls == ["GetItem", "GetItem", "TransactWriteItems"]


def test_a_merge_costs_one_cancelled_transaction_and_one_update(post: Any, calls: list[str]) -> None:
    post({"email": "ana@example.com", "first_name": "Ana"})
    calls.clear()
    assert post({"email": "ana@example.com", "company": "Acme"}) == 200
    # The cancelled transaction hands back the stored contact (ALL_OLD): no read is needed.
    assert calls == ["TransactWriteItems", "UpdateItem"]


def test_a_replay_costs_one_cancelled_transaction_and_writes_nothing(post: Any, calls: list[str]) -> None:
    lead = {"email": "ana@example.com", "first_name": "Ana"}
    post(lead)
    calls.clear()
    assert post(lead) == 201
    assert calls == ["TransactWriteItems"]
    assert not READS & set(calls)


def test_a_bot_costs_nothing(post: Any, calls: list[str]) -> None:
    assert post({"email": "bot@example.com", "website": "http://spam.example"}) == 201
    assert calls == []


def test_an_invalid_lead_costs_nothing(post: Any, calls: list[str]) -> None:
    assert post({"email": "nope"}) == 400
    assert json.dumps(calls) == "[]"
