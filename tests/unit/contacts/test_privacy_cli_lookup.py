"""`crm contacts export|erase ADDRESS` finds the contact id through the stack's API (`GET /contacts?email=`):
ids are keyed by the stack's identity key, which the command never reads."""

from __future__ import annotations

from typing import Any

import pytest

from infra.commands import privacy
from infra.commands.target import CliError, Target


class FakeApi:
    """The stack's API, answering `GET /contacts?email=` with `answer` and recording what was asked."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.target = Target()
        self.answer = (status, body)
        self.asked: list[tuple[str, str]] = []

    def call(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        self.asked.append((method, path))
        return self.answer


def test_an_address_is_looked_up_through_the_api() -> None:
    api = FakeApi(200, {"contact_id": "ct_abcdefghijklmnopqrstuvwxyz"})

    assert privacy.contact_id(api, "Ana+news@Example.com") == "ct_abcdefghijklmnopqrstuvwxyz"  # type: ignore[arg-type]
    assert api.asked == [("GET", "/contacts?email=Ana%2Bnews%40Example.com")]


def test_a_contact_id_is_taken_as_given_without_a_call() -> None:
    api = FakeApi(500, {})

    assert privacy.contact_id(api, "ct_abcdefghijklmnopqrstuvwxyz") == "ct_abcdefghijklmnopqrstuvwxyz"  # type: ignore[arg-type]
    assert api.asked == []


def test_an_address_of_no_contact_is_a_clear_error() -> None:
    with pytest.raises(CliError, match="nobody@example.com is not a contact of the local stack"):
        privacy.contact_id(FakeApi(404, {"errors": [{"message": "no contact"}]}), "nobody@example.com")  # type: ignore[arg-type]
