"""Reading what forms send: content types, encodings, sizes, repeated and odd fields."""

from __future__ import annotations

import base64
import json
from email.mime.multipart import MIMEMultipart
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.errors import ValidationFailed
from crm_core.leads.fields import MAX_BODY_BYTES
from crm_core.leads.parsing import PayloadTooLarge, UnsupportedMediaType, parse_fields, read_body

FORM = "application/x-www-form-urlencoded"
# Text a person might type: any printable character of any script (no surrogates, no controls).
typed = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)


def multipart_body(fields: dict[str, str], boundary: str = "b0undary") -> bytes:
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    )
    return (parts + f"--{boundary}--\r\n").encode()


def test_the_size_is_checked_before_decoding() -> None:
    exact = "x" * MAX_BODY_BYTES
    assert len(read_body(exact, is_base64=False)) == MAX_BODY_BYTES
    with pytest.raises(PayloadTooLarge):
        read_body(exact + "x", is_base64=False)
    with pytest.raises(PayloadTooLarge):
        read_body("é" * (MAX_BODY_BYTES // 2 + 1), is_base64=False)  # two bytes each
    encoded = base64.b64encode(b"y" * MAX_BODY_BYTES).decode()
    assert len(read_body(encoded, is_base64=True)) == MAX_BODY_BYTES
    with pytest.raises(PayloadTooLarge):
        read_body(base64.b64encode(b"y" * (MAX_BODY_BYTES + 1)).decode(), is_base64=True)
    with pytest.raises(PayloadTooLarge):
        read_body("A" * (10 * MAX_BODY_BYTES), is_base64=True)  # refused on length, never decoded


def test_empty_and_missing_bodies_read_as_nothing() -> None:
    assert read_body(None, is_base64=True) == b""
    assert read_body("", is_base64=False) == b""
    assert parse_fields(b"", FORM) == {}
    with pytest.raises(ValidationFailed):
        parse_fields(b"", "application/json")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", None, "", "application/json-patch+json", "multipart/mixed"],
)
def test_only_three_content_types_are_accepted(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaType):
        parse_fields(b"email=a", content_type)


def test_content_type_parameters_and_case_do_not_matter() -> None:
    assert parse_fields(b'{"email":"a"}', "Application/JSON; charset=UTF-8") == {"email": "a"}
    assert parse_fields(b"first_name=Zo%C3%AB", f"{FORM}; charset=utf-8") == {"first_name": "Zoë"}


def test_a_declared_latin1_form_is_decoded_as_declared() -> None:
    assert parse_fields(b"first_name=Zo%EB", f"{FORM}; charset=iso-8859-1") == {"first_name": "Zoë"}
    with pytest.raises(UnsupportedMediaType):
        parse_fields(b"a=b", f"{FORM}; charset=klingon")


def test_json_keeps_booleans_and_turns_numbers_into_text() -> None:
    fields = parse_fields(
        json.dumps({"consent": True, "phone": 393331234567, "x": None}).encode(), "application/json"
    )
    assert fields == {"consent": True, "phone": "393331234567", "x": None}


def test_json_with_a_byte_order_mark_is_read() -> None:
    assert parse_fields(b"\xef\xbb\xbf" + b'{"email": "a"}', "application/json") == {"email": "a"}


def test_repeated_form_fields_keep_the_last_non_empty_value() -> None:
    assert parse_fields(b"consent=off&consent=on", FORM) == {"consent": "on"}
    assert parse_fields(b"consent=on&consent=", FORM) == {"consent": "on"}
    assert parse_fields(b"a=&a=", FORM) == {"a": ""}


def test_multipart_reads_utf8_names_and_values_and_refuses_files() -> None:
    raw = multipart_body({"prénom": "Zoë", "email": "z@example.com"})
    assert parse_fields(raw, "multipart/form-data; boundary=b0undary") == {
        "prénom": "Zoë",
        "email": "z@example.com",
    }
    upload = (
        b'--b\r\nContent-Disposition: form-data; name="cv"; filename="cv.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF\r\n--b--\r\n"
    )
    with pytest.raises(ValidationFailed) as refused:
        parse_fields(upload, "multipart/form-data; boundary=b")
    assert refused.value.errors[0].field == "cv"


def test_multipart_built_by_the_standard_library_is_read() -> None:
    message = MIMEMultipart("form-data")
    from email.mime.text import MIMEText

    part = MIMEText("Putu Ayu", "plain", "utf-8")
    part.add_header("Content-Disposition", "form-data", name="name")
    message.attach(part)
    raw = message.as_bytes().split(b"\n\n", 1)[1]
    assert parse_fields(raw, message["Content-Type"]) == {"name": "Putu Ayu"}


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), typed, max_size=8))
def test_any_typed_text_survives_urlencoded_and_multipart(fields: dict[str, str]) -> None:
    assert parse_fields(urlencode(fields).encode(), FORM) == fields
    if not any("\r" in v or v.endswith("\n") for v in fields.values()):
        assert parse_fields(multipart_body(fields), "multipart/form-data; boundary=b0undary") == fields
    assert parse_fields(json.dumps(fields).encode(), "application/json") == fields
