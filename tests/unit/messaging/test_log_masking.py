"""Log masking: no address or phone number reaches a log line, however it is written."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.observability import redact

LETTERS = st.characters(categories=["Ll", "Lu", "Lo"], max_codepoint=0x9FFF)
local_part = st.text(alphabet=st.one_of(LETTERS, st.sampled_from("0123456789._+-")), min_size=1, max_size=20)
label = st.text(alphabet=st.one_of(LETTERS, st.sampled_from("0123456789")), min_size=1, max_size=12)
tld = st.one_of(st.text(alphabet=LETTERS, min_size=2, max_size=6), st.just("xn--p1ai"))
at_sign = st.sampled_from(["@", "%40", "%2540", "\uff20"])
addresses = st.builds(lambda lp, at, d, t: f"{lp}{at}{d}.{t}", local_part, at_sign, label, tld)

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
phones = st.one_of(
    st.from_regex(r"\A0[1-9]\d{7,10}\Z"),  # national, no separators: 08123456789
    st.from_regex(r"\A3\d{9}\Z"),  # Italian mobile without its trunk prefix: 3331234567
    st.from_regex(r"\A00[1-9]\d{1,2}[ ]?\d{3}[ ]?\d{3,4}[ ]?\d{3,4}\Z"),  # 0039 333 123 4567
    st.from_regex(r"\A\+[1-9]\d{1,2}[ -]?\d{2,4}[ -]?\d{3,4}[ -]?\d{3,4}\Z"),  # +39 333 123 4567
    st.from_regex(r"\A0\d{1,4}[ /-]\d{3,4}[ -]?\d{3,5}\Z"),  # 030 1234 567
)
surrounding = st.text(alphabet=st.sampled_from("abcdefgh ,;\"'"), max_size=12)


@settings(max_examples=200, deadline=None)
@given(before=surrounding, value=st.one_of(addresses, phones), after=surrounding)
def test_no_address_or_phone_number_survives_redaction(before: str, value: str, after: str) -> None:
    cleaned = redact(f"{before} {value} {after}")
    assert value not in cleaned
    assert "<email>" in cleaned or "<phone>" in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "lead from jörg@müller.de",
        "GET /unsubscribe?email=john%40example.com",
        "GET /x?e=john%2540example.com",
        "user@xn--exmple-cua.de",
        "call 08123456789",
        "mobile 3331234567",
        "intl 00393331234567",
        '{"phone": "0039 333 123 4567"}',
    ],
)
def test_the_reported_forms_are_masked(text: str) -> None:
    cleaned = redact(text)
    assert "@" not in cleaned and "%40" not in cleaned
    assert not any(run in cleaned for run in ("812345", "3331234", "1234567", "müller"))


@pytest.mark.parametrize(
    "text",
    [
        '"timestamp":"2026-12-03 07:16:50,837+0000"',
        '"function_request_id":"00000000-0000-0000-0000-000000000000"',
        '"Timestamp":1796282210855',
        "xray 1-5759e988-bd862e3fe1be46a994272793",
        "ses 0102019a5f3f0d99-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809-000000",
        "case C-2FAW7Y took 1234 ms, 12 of 40 sent",
    ],
)
def test_ids_counts_and_timestamps_are_left_as_they_are(text: str) -> None:
    assert redact(text) == text
