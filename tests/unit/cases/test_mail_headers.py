"""The one header builder: whatever the data, a message has exactly the headers we meant, one line each."""

from __future__ import annotations

import email
from email import policy

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crm_core.messaging import headers, mime

LINE_BREAKERS = ["\r", "\n", "\r\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x00", "\x1b"]
ENCODED_BREAKS = [
    "=?utf-8?q?x=0D=0ABcc:_victim@example.com?=",
    "=?UTF-8?Q?=0ABcc=3A_victim=40example=2Ecom?=",
    "=?utf-8?b?eA0KQmNjOiB2aWN0aW1AZXhhbXBsZS5jb20=?=",  # "x\r\nBcc: victim@example.com"
    "=?iso-8859-1?q?=0D=0AReply-To:_x@evil.example?=",
    "==?utf-8?q?=0A?=?",
    "=?utf-8*en?q?=0d=0aX-Evil:_1?=",
]
# Text an attacker controls: any Unicode (surrogates excluded: JSON could carry them, and the
# builder's cleaning is tested on them below), interleaved with encoded-words and line breaks.
hostile = st.lists(
    st.one_of(st.text(max_size=30), st.sampled_from(LINE_BREAKERS), st.sampled_from(ENCODED_BREAKS)),
    max_size=8,
).map("".join)
CUSTOM = ["List-Unsubscribe", "X-Campaign", "In-Reply-To", "References"]


def _parsed(raw: bytes, how: policy.Policy) -> email.message.Message:
    return email.message_from_bytes(raw, policy=how)


def _build(subject: str, custom: dict[str, str], reply_to: str | None = None) -> bytes:
    return mime.build(
        sender="crm@example.com",
        to="ana@example.com",
        subject=subject,
        text="text",
        html="<p>html</p>",
        reply_to=reply_to,
        headers=custom,
        auto_submitted="auto-generated",
    )


@settings(max_examples=100, deadline=None)
@given(subject=hostile, values=st.lists(hostile, min_size=4, max_size=4))
@example(subject=ENCODED_BREAKS[0], values=ENCODED_BREAKS[:4])
def test_no_data_can_add_a_header_or_a_line_break(subject: str, values: list[str]) -> None:
    custom = dict(zip(CUSTOM, values, strict=True))
    raw = mime.build(
        sender="crm@example.com",
        to="ana@example.com",
        subject=subject,
        text="text",
        html="<p>html</p>",
        reply_to="support+c1@example.com",
        headers=custom,
        auto_submitted="auto-generated",
    )
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    # Every line of the block starts a header we know or continues the one before (folding).
    for line in head.split(b"\r\n"):
        assert line[:1] in {b" ", b"\t"} or line.split(b":", 1)[0].decode() in {
            "From",
            "To",
            "Subject",
            "Reply-To",
            "Auto-Submitted",
            "MIME-Version",
            "Content-Type",
            *CUSTOM,
        }
    for how in (policy.default, policy.compat32, policy.SMTP):
        message = _parsed(raw, how)
        names = set(message.keys())
        fixed = {"From", "To", "Subject", "Reply-To", "Auto-Submitted", "MIME-Version", "Content-Type"}
        assert fixed <= names <= fixed | set(CUSTOM)
        assert len(message.keys()) == len(names)  # no header twice
        for value in message.values():
            unfolded = str(value).replace("\r\n ", " ").replace("\r\n\t", " ").replace("\n ", " ")
            assert "\r" not in unfolded and "\n" not in unfolded
        assert message.get_all("Bcc") is None and message.get_all("Cc") is None
    decoded = _parsed(raw, policy.default)
    assert "\r" not in str(decoded["Subject"]) and "\n" not in str(decoded["Subject"])
    assert str(decoded["To"]) == "ana@example.com"
    assert str(decoded["Reply-To"]) == "support+c1@example.com"


@settings(max_examples=100, deadline=None)
@given(name=hostile)
def test_a_display_name_stays_inside_its_address_header(name: str) -> None:
    value = headers.address(name, "ana@example.com")
    raw = f"From: {value}\r\nTo: x@example.com\r\n\r\nbody".encode("ascii")
    message = _parsed(raw, policy.default)
    assert set(message.keys()) == {"From", "To"}
    parsed = message["From"]
    assert [a.addr_spec for a in parsed.addresses] == ["ana@example.com"]
    assert "\n" not in parsed.addresses[0].display_name and "\r" not in parsed.addresses[0].display_name


def test_cleaning_drops_lone_surrogates_and_every_line_separator() -> None:
    text = headers.clean_text("a\ud800b\u2028c\u2029d\x85e\u202ef\r\ng=?h")
    assert text == "a b c d e f g= ?h"


def test_encoded_words_in_data_are_shown_as_text_never_decoded() -> None:
    raw = _build(ENCODED_BREAKS[0], {})
    subject = str(_parsed(raw, policy.default)["Subject"])
    assert "Bcc:" in subject and "=?utf-8" not in subject  # the text is kept visible, its "=?" broken


def test_a_custom_header_cannot_replace_one_the_builder_writes() -> None:
    for name in ("Bcc", "To", "Subject", "Content-Type", "X-Bad\r\nBcc", "X Space"):
        with pytest.raises(headers.HeaderError):
            _build("s", {name: "v"})


def test_idn_domains_become_punycode_and_utf8_local_parts_are_unsendable() -> None:
    assert headers.ascii_address("ana@Müller.de") == "ana@xn--mller-kva.de"
    for bad in ("jörg@müller.de", "no-at-sign", "a@b", "a@-bad-.de", "=?utf-8?q?x?=@example.com", "a b@x.de"):
        with pytest.raises(headers.UnsendableAddress):
            headers.ascii_address(bad)


def test_threading_headers_keep_only_well_formed_message_ids() -> None:
    assert headers.message_ids("<a@b.c> junk\r\nBcc: x <d@e.f>") == "<a@b.c>\r\n <d@e.f>"
    assert headers.message_ids("=?utf-8?q?=0D=0A?=") is None
