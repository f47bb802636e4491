"""One mapping from domain errors to HTTP answers for every API: one body shape, Retry-After on 503."""

from __future__ import annotations

import pytest

from crm_core.errors import Conflict, FieldError, InvalidToken, NotFound, RetryableError, ValidationFailed
from crm_core.http.errors import as_invalid_body, problem
from crm_core.loyalty.errors import InsufficientPoints


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ValidationFailed([FieldError("email", "is not an address")]), 400),
        (InvalidToken("bad signature"), 400),
        (NotFound("no case C-1"), 404),
        (Conflict("the case changed meanwhile"), 409),
        (RetryableError("throttled"), 503),
        (KeyError("secret internals"), 500),
    ],
)
def test_every_error_has_the_one_body_shape(error: Exception, status: int) -> None:
    found = problem(error)
    body = found.body()
    assert found.status == status
    assert body["errors"] and all(set(e) == {"field", "message"} and e["message"] for e in body["errors"])
    assert ("Retry-After" in found.headers) == (status == 503)
    assert "secret internals" not in found.json()


def test_a_conflict_keeps_its_details_beside_the_errors() -> None:
    body = problem(InsufficientPoints(requested=500, available=120)).body()
    assert body["requested"] == 500 and body["available"] == 120 and body["errors"]


def test_a_body_that_is_not_a_json_object_is_a_400_on_body() -> None:
    assert problem(as_invalid_body(ValueError("Expecting value"))).body()["errors"] == [
        {"field": "body", "message": "must be a JSON object"}
    ]
