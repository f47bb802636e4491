"""Signed tokens and MACs: forged or altered ones are refused; a key rotation keeps what was sent working."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from crm_core import aws
from crm_core.errors import InvalidToken
from crm_core.messaging import tokens

pytestmark = pytest.mark.usefixtures("stack")  # the stack forgets the key of the one before


def test_a_token_round_trips_for_its_purpose_only() -> None:
    token = tokens.sign({"c": "ct_1", "k": "welcome.1"}, "unsubscribe")
    assert tokens.verify(token, "unsubscribe") == {"c": "ct_1", "k": "welcome.1"}
    with pytest.raises(InvalidToken):
        tokens.verify(token, "something-else")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: "x" + t,
        lambda t: t[:-1] + "é",
        lambda t: t + ".",
        lambda t: "",
        lambda t: "abc",
    ],
)
def test_altered_or_malformed_tokens_are_refused(mangle) -> None:
    token = tokens.sign({"c": "ct_1"}, "unsubscribe")
    with pytest.raises(InvalidToken):
        tokens.verify(mangle(token), "unsubscribe")


def test_a_forged_payload_with_a_copied_signature_is_refused() -> None:
    kid, _, signature = tokens.sign({"c": "ct_1"}, "unsubscribe").split(".")
    forged_body = base64.urlsafe_b64encode(json.dumps({"c": "ct_2"}).encode()).decode().rstrip("=")
    with pytest.raises(InvalidToken):
        tokens.verify(f"{kid}.{forged_body}.{signature}", "unsubscribe")
    with pytest.raises(InvalidToken):
        tokens.verify(f"{forged_body}.{signature}", "unsubscribe")


def test_short_macs_check_case_insensitively_and_refuse_others() -> None:
    code = tokens.mac("c-7q4m2x", "reply")
    assert len(code) == 10 and code == code.lower()
    assert tokens.check_mac("c-7q4m2x", "reply", code.upper())
    assert not tokens.check_mac("c-7q4m2y", "reply", code)
    assert not tokens.check_mac("c-7q4m2x", "reply", "")


# ---------------------------------------------------------------- key ids and rotation


def rotate(stack) -> str:
    """What an operator does (put-secret-value), then five minutes pass; returns the new key."""
    new_key = secrets.token_hex(32)
    aws.client("secretsmanager").put_secret_value(
        SecretId=stack.env["SIGNING_KEY_SECRET"], SecretString=new_key
    )
    tokens.forget_key()  # the cache would expire within five minutes anyway
    return new_key


def current_key(stack) -> str:
    return str(
        aws.client("secretsmanager").get_secret_value(SecretId=stack.env["SIGNING_KEY_SECRET"])[
            "SecretString"
        ]
    )


@pytest.fixture
def secret_reads(stack) -> Iterator[list[str]]:
    """The VersionStage of every GetSecretValue call from now on ("AWSCURRENT" when none is asked)."""
    reads: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        reads.append(params.get("VersionStage", "AWSCURRENT"))

    events = aws.client("secretsmanager").meta.events
    events.register("before-parameter-build.secrets-manager.GetSecretValue", record)
    yield reads
    events.unregister("before-parameter-build.secrets-manager.GetSecretValue", record)


def kid_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def test_a_token_carries_the_id_of_the_current_key_and_a_new_one_after_rotation(stack) -> None:
    before = tokens.sign({"c": "ct_1"}, "unsubscribe")
    new_key = rotate(stack)
    after = tokens.sign({"c": "ct_1"}, "unsubscribe")

    assert before.count(".") == after.count(".") == 2
    assert before.split(".")[0] != after.split(".")[0] == kid_of(new_key) == tokens.key_id(new_key.encode())


def test_a_token_signed_before_rotation_verifies_after_one_rotation_and_not_after_two(stack) -> None:
    token = tokens.sign({"c": "ct_1", "k": "welcome.tips"}, "unsubscribe")

    rotate(stack)
    assert tokens.verify(token, "unsubscribe") == {"c": "ct_1", "k": "welcome.tips"}

    rotate(stack)
    with pytest.raises(InvalidToken, match="unknown key id"):
        tokens.verify(token, "unsubscribe")


# Made by the code before key ids existed, with the key "0" * 64: a link already in an inbox.
LEGACY_KEY = "0" * 64
LEGACY_TOKEN = "eyJjIjoiY3RfbGVnYWN5IiwiayI6IndlbGNvbWUudGlwcyJ9.XIzZE9ThRPV6l6-am4nUuA"
LEGACY_REPLY_MAC = "yndfznjxlu"  # of "c-7q4m2x" for the case reply address


def test_a_token_without_key_id_from_before_still_verifies_with_the_current_or_previous_key(stack) -> None:
    aws.client("secretsmanager").put_secret_value(
        SecretId=stack.env["SIGNING_KEY_SECRET"], SecretString=LEGACY_KEY
    )
    tokens.forget_key()
    assert tokens.verify(LEGACY_TOKEN, "unsubscribe") == {"c": "ct_legacy", "k": "welcome.tips"}
    assert tokens.check_mac("c-7q4m2x", "case-reply-address", LEGACY_REPLY_MAC)

    rotate(stack)
    assert tokens.verify(LEGACY_TOKEN, "unsubscribe") == {"c": "ct_legacy", "k": "welcome.tips"}
    with pytest.raises(InvalidToken):
        tokens.verify(LEGACY_TOKEN, "something-else")

    rotate(stack)
    with pytest.raises(InvalidToken, match="bad signature"):
        tokens.verify(LEGACY_TOKEN, "unsubscribe")


def test_a_forged_key_id_is_refused(stack) -> None:
    kid, body, signature = tokens.sign({"c": "ct_1"}, "unsubscribe").split(".")
    with pytest.raises(InvalidToken, match="unknown key id"):
        tokens.verify(f"{'0' * 8 if kid != '0' * 8 else '1' * 8}.{body}.{signature}", "unsubscribe")

    rotate(stack)
    new_kid = tokens.sign({"c": "ct_1"}, "unsubscribe").split(".")[0]
    with pytest.raises(InvalidToken, match="bad signature"):  # the new key did not sign it
        tokens.verify(f"{new_kid}.{body}.{signature}", "unsubscribe")
    assert tokens.verify(f"{kid}.{body}.{signature}", "unsubscribe") == {"c": "ct_1"}


def test_a_token_signed_with_a_key_the_secret_never_held_is_refused(stack) -> None:
    stranger = secrets.token_hex(32).encode()
    kid = tokens.key_id(stranger)
    body = base64.urlsafe_b64encode(b'{"c":"ct_1"}').decode().rstrip("=")
    digest = hmac.new(stranger, f"unsubscribe\x00{kid}.{body}".encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
    with pytest.raises(InvalidToken, match="unknown key id"):
        tokens.verify(f"{kid}.{body}.{signature}", "unsubscribe")


def test_a_reply_mac_made_before_rotation_still_checks_after_it_and_not_after_two(stack) -> None:
    code = tokens.mac("c-7q4m2x", "reply")

    rotate(stack)
    assert tokens.mac("c-7q4m2x", "reply") != code
    assert tokens.check_mac("c-7q4m2x", "reply", code)
    assert tokens.check_mac("c-7q4m2x", "reply", tokens.mac("c-7q4m2x", "reply"))
    assert not tokens.check_mac("c-7q4m2y", "reply", code)

    rotate(stack)
    assert not tokens.check_mac("c-7q4m2x", "reply", code)


def test_the_common_path_reads_the_secret_once(stack, secret_reads: list[str]) -> None:
    token = tokens.sign({"c": "ct_1"}, "unsubscribe")
    assert tokens.verify(token, "unsubscribe") == {"c": "ct_1"}
    assert tokens.check_mac("c-7q4m2x", "reply", tokens.mac("c-7q4m2x", "reply"))

    assert secret_reads == ["AWSCURRENT"]


def test_the_previous_key_is_read_once_and_only_when_needed(stack, secret_reads: list[str]) -> None:
    old_token = tokens.sign({"c": "ct_1"}, "unsubscribe")
    old_code = tokens.mac("c-7q4m2x", "reply")
    rotate(stack)
    secret_reads.clear()

    new_token = tokens.sign({"c": "ct_2"}, "unsubscribe")
    assert tokens.verify(new_token, "unsubscribe") == {"c": "ct_2"}
    assert secret_reads == ["AWSCURRENT"]

    for _ in range(3):
        assert tokens.verify(old_token, "unsubscribe") == {"c": "ct_1"}
        assert tokens.check_mac("c-7q4m2x", "reply", old_code)
    assert secret_reads == ["AWSCURRENT", "AWSPREVIOUS"]


def test_a_secret_never_rotated_has_no_previous_key_and_asks_once(stack, secret_reads: list[str]) -> None:
    kid, body, signature = tokens.sign({"c": "ct_1"}, "unsubscribe").split(".")
    forged_kid = "0" * 8 if kid != "0" * 8 else "1" * 8

    for _ in range(3):  # a stream of forged key ids costs one extra read per cache period
        with pytest.raises(InvalidToken, match="unknown key id"):
            tokens.verify(f"{forged_kid}.{body}.{signature}", "unsubscribe")
        assert not tokens.check_mac("c-7q4m2x", "reply", "aaaaaaaaaa")

    assert secret_reads == ["AWSCURRENT", "AWSPREVIOUS"]
    assert current_key(stack) and kid == kid_of(current_key(stack))
