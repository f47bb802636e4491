"""Signed tokens and MACs: a forged or altered one is refused."""

from __future__ import annotations

import pytest

from crm_core.errors import InvalidToken
from crm_core.messaging import tokens


@pytest.fixture(autouse=True)
def _fresh_key(stack):
    tokens.forget_key()
    yield
    tokens.forget_key()


def test_a_token_round_trips_for_its_purpose_only() -> None:
    token = tokens.sign({"c": "ct_1", "k": "welcome.1"}, "unsubscribe")
    assert tokens.verify(token, "unsubscribe") == {"c": "ct_1", "k": "welcome.1"}
    with pytest.raises(InvalidToken):
        tokens.verify(token, "something-else")


@pytest.mark.parametrize(
    "mangle",
    [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: "x" + t, lambda t: "", lambda t: "abc"],
)
def test_altered_or_malformed_tokens_are_refused(mangle) -> None:
    token = tokens.sign({"c": "ct_1"}, "unsubscribe")
    with pytest.raises(InvalidToken):
        tokens.verify(mangle(token), "unsubscribe")


def test_a_forged_payload_with_a_copied_signature_is_refused() -> None:
    import base64
    import json

    token = tokens.sign({"c": "ct_1"}, "unsubscribe")
    forged_body = base64.urlsafe_b64encode(json.dumps({"c": "ct_2"}).encode()).decode().rstrip("=")
    with pytest.raises(InvalidToken):
        tokens.verify(forged_body + "." + token.split(".")[1], "unsubscribe")


def test_short_macs_check_case_insensitively_and_refuse_others() -> None:
    code = tokens.mac("c-7q4m2x", "reply")
    assert len(code) == 10 and code == code.lower()
    assert tokens.check_mac("c-7q4m2x", "reply", code.upper())
    assert not tokens.check_mac("c-7q4m2y", "reply", code)
    assert not tokens.check_mac("c-7q4m2x", "reply", "")
