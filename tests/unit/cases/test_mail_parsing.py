"""Real-world-shaped mail (tests/fixtures/mail) parses into what a case needs, or says why it cannot."""

from __future__ import annotations

import json
import os
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_core.cases.html_text import html_to_text
from crm_core.cases.parsing import LARGE_MESSAGE_BYTES, Unreadable, decode_bytes, parse, trim_quoted
from crm_core.cases.screening import screen
from crm_core.cases.skeleton import skeleton

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
EXPECTED = {
    k: v for k, v in json.loads((CORPUS / "expected.json").read_text()).items() if not k.startswith("_")
}


def test_every_message_of_the_corpus_has_an_expectation() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message_parses_or_says_why_not(name: str) -> None:
    expected = EXPECTED[name]
    raw = (CORPUS / name).read_bytes()
    if expected.get("reason"):
        with pytest.raises(Unreadable):
            parse(raw)
        return
    mail = parse(raw)
    assert "@" in mail.sender
    assert bool(screen(mail, {}, "bounces@example.net").automated) == bool(expected.get("automated"))
    if "contains" in expected:
        assert expected["contains"].lower() in f"{mail.subject}\n{mail.new_text}".lower()
    if "not_contains" in expected:
        assert expected["not_contains"] not in mail.new_text
    if "subject" in expected:
        assert mail.subject == expected["subject"]
    if "sender_name" in expected:
        assert mail.sender_name == expected["sender_name"]
    assert [a.name for a in mail.attachments] == expected.get("attachments", [])
    assert all(a.size > 0 for a in mail.attachments)


def test_a_very_large_message_keeps_its_text_and_lists_attachments_without_loading_them() -> None:
    msg = EmailMessage()
    msg["From"] = "Ana <ana@example.it>"
    msg["Subject"] = "Foto del pacco danneggiato"
    msg.set_content("Vi allego le foto: il pacco è arrivato danneggiato.")
    for index in range(3):
        msg.add_attachment(
            os.urandom(4_000_000), maintype="image", subtype="jpeg", filename=f"foto{index}.jpg"
        )
    raw = msg.as_bytes()
    assert len(raw) > 3 * LARGE_MESSAGE_BYTES

    mail = parse(raw)

    assert mail.reduced
    assert "danneggiato" in mail.new_text
    assert [(a.name, a.size) for a in mail.attachments] == [(f"foto{i}.jpg", 4_000_000) for i in range(3)]


def test_charset_fallbacks() -> None:
    assert decode_bytes("perché".encode(), "iso-8859-1") == "perché"  # UTF-8 labelled Latin-1
    assert decode_bytes("caffè €".encode("cp1252"), "utf-8") == "caffè €"  # cp1252 labelled UTF-8
    assert decode_bytes(b"\x80 10", "iso-8859-1") == "€ 10"  # ISO-8859-1 read as its superset
    assert decode_bytes("Grüße".encode(), "x-nonsense") == "Grüße"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Still broken.\n\nOn Mon, 23 Nov 2026 at 10:00, Support <s@x.com> wrote:\n> old", "Still broken."),
        (
            "Ancora niente.\n\nIl giorno lun 23 nov 2026 alle ore 10:00 Support\n<s@x.it> ha scritto:\n>",
            "Ancora niente.",
        ),
        (
            "Immer noch kaputt.\n\nAm 23.11.2026 um 10:00 schrieb Support <s@x.com>:\n> alt",
            "Immer noch kaputt.",
        ),
        ("Masih rusak.\n\nPada 23/11/2026 10.00, Support menulis:\n> lama", "Masih rusak."),
        ("Answer.\n\n-----Original Message-----\nFrom: x", "Answer."),
        ("Il mio pacco è arrivato.\nHa scritto: nessuno\n", "Il mio pacco è arrivato.\nHa scritto: nessuno"),
    ],
)
def test_quoted_history_is_trimmed_in_four_languages(text: str, kept: str) -> None:
    assert trim_quoted(text) == kept


def test_html_becomes_readable_text() -> None:
    html = "<style>p{}</style><p>Hello&nbsp;<b>there</b></p><ul><li>one</li><li>two &amp; 3</li></ul><a href='https://x.y/z'>see</a>"
    assert html_to_text(html) == "Hello there\n\n- one\n- two & 3\nsee (https://x.y/z)"
    assert html_to_text("<p>unclosed <b>tags <div>") == "unclosed tags"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(EXPECTED)),
    cut=st.floats(min_value=0.05, max_value=1.0),
    noise=st.binary(max_size=40),
    at=st.floats(min_value=0.0, max_value=1.0),
)
def test_mangled_mail_parses_or_is_unreadable_never_an_exception(
    name: str, cut: float, noise: bytes, at: float
) -> None:
    raw = (CORPUS / name).read_bytes()
    raw = raw[: max(1, int(len(raw) * cut))]
    where = int(len(raw) * at)
    mangled = raw[:where] + noise + raw[where:]
    for source in (mangled, skeleton(mangled)):  # the very-large-mail path must survive it too
        try:
            mail = parse(source)
        except Unreadable:
            continue
        assert isinstance(mail.new_text, str) and "@" in mail.sender
        screen(mail, {}, None)
