"""Validating and normalizing a lead: every problem named at once, every value normalized."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crm_core.errors import ValidationFailed
from crm_core.leads import fields
from crm_core.leads.validation import Lead, read_submission

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def lead(**posted: Any) -> Lead:
    submission = read_submission({"email": "ana@example.com", **posted}, now=NOW)
    assert submission.lead is not None
    return submission.lead


def problems(**posted: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as failed:
        read_submission(posted, now=NOW)
    return {e.field: e.message for e in failed.value.errors}


def test_aliases_name_the_same_fields() -> None:
    found = lead(
        firstName="Zoë", lastName="Müller", Timezone="Europe/Rome", lang="it_it", marketing_consent="yes"
    )
    assert (found.first_name, found.last_name, found.time_zone) == ("Zoë", "Müller", "Europe/Rome")
    assert (found.locale, found.consent) == ("it-IT", True)


def test_text_is_trimmed_and_nfc_normalized() -> None:
    decomposed = "Zoe\u0308"  # e + combining diaeresis, as some keyboards send it
    assert lead(first_name=f"  {decomposed} ").first_name == "Zoë"


def test_email_is_validated_and_internationalized_domains_are_kept_as_punycode() -> None:
    assert lead(email="Ana@EXAMPLE.com").email == "Ana@example.com"
    assert lead(email="zoe@münchen.de").email == "zoe@xn--mnchen-3ya.de"  # what SES can send to
    assert "ASCII" in problems(email="zoë@münchen.de")["email"]  # SES cannot send to a UTF-8 local part
    assert "email" in problems(email="ana@@example.com")
    assert "email" in problems(email="ana@localhost")
    assert problems(first_name="Ana") == {"email": "is required"}


@pytest.mark.parametrize(
    ("posted", "expected"),
    [
        ({"phone": "+39 333 123 4567"}, ("+393331234567", None)),
        ({"phone": "333 123 4567", "locale": "it"}, ("+393331234567", None)),
        ({"phone": "0812 3456 7890", "country": "id"}, ("+6281234567890", None)),
        ({"phone": "030 1234567", "locale": "de-AT"}, (None, "030 1234567")),  # Austria: not a valid number
        ({"phone": "030 1234567", "locale": "en"}, (None, "030 1234567")),  # no region to read it in
        ({"phone": "after 6pm please"}, (None, "after 6pm please")),
    ],
)
def test_phone_numbers_become_e164_or_stay_as_written(
    posted: dict[str, str], expected: tuple[Any, Any]
) -> None:
    found = lead(**posted)
    assert (found.phone, found.phone_raw) == expected


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("1990-05-17", "1990-05-17"),
        ("--05-17", "--05-17"),
        ("--02-29", "--02-29"),
        ("2000-02-29", "2000-02-29"),
    ],
)
def test_birthdays_with_or_without_year(value: str, stored: str) -> None:
    assert lead(birthday=value).birthday == stored


@pytest.mark.parametrize(
    "value", ["2001-02-29", "--13-01", "1990-5-17", "17/05/1990", "2027-01-01", "1850-01-01"]
)
def test_impossible_birthdays_are_refused(value: str) -> None:
    assert "birthday" in problems(email="a@example.com", birthday=value)


@pytest.mark.parametrize("zone", ["Europe/Rome", "Asia/Makassar", "America/Argentina/Buenos_Aires", "UTC"])
def test_iana_time_zones_are_accepted(zone: str) -> None:
    assert lead(time_zone=zone).time_zone == zone


@pytest.mark.parametrize("zone", ["Europe", "Mars/Olympus", "../../etc/passwd", "europe/rome", "CEST+2"])
def test_other_time_zones_are_refused(zone: str) -> None:
    assert "time_zone" in problems(email="a@example.com", time_zone=zone)


def test_consent_words_and_silence() -> None:
    assert lead(consent="on").consent is True
    assert lead(consent="No").consent is False
    assert lead(consent=False).consent is False
    assert lead(consent="").consent is None
    assert lead().consent is None
    assert "consent" in problems(email="a@example.com", consent="perhaps")


def test_source_page_drops_its_query_and_gives_its_utm_parameters() -> None:
    found = lead(source_page="https://example.com/p?utm_source=ig&utm_medium=story&email=ana@example.com#top")
    assert found.source_page == "https://example.com/p"
    assert dict(found.utm) == {"utm_source": "ig", "utm_medium": "story"}
    assert dict(lead(source_page="https://example.com/?utm_source=ig", utm_source="fb").utm) == {
        "utm_source": "fb"
    }
    assert "source_page" in problems(email="a@example.com", source_page="javascript:alert(1)")


def test_the_referer_is_the_source_page_when_none_is_posted() -> None:
    found = read_submission(
        {"email": "a@example.com"}, now=NOW, referer="https://example.com/x?utm_campaign=c"
    ).lead
    assert found is not None and (found.source_page, dict(found.utm)) == (
        "https://example.com/x",
        {"utm_campaign": "c"},
    )


def test_one_line_fields_refuse_control_characters_but_a_message_keeps_its_lines() -> None:
    assert "first_name" in problems(email="a@example.com", first_name="Ana\r\nBcc: x@example.com")
    assert lead(message="line one\nline two\ttabbed").message == "line one\nline two\ttabbed"
    assert "message" in problems(email="a@example.com", message="bell\x07")


def test_lengths_are_bounded() -> None:
    assert problems(email="a@example.com", first_name="x" * 101) == {
        "first_name": "must be at most 100 characters"
    }
    assert lead(message="x" * 4000).message


def test_form_plumbing_is_ignored_and_other_fields_are_custom() -> None:
    found = lead(_charset_="UTF-8", submit="Send", plan="pro", newsletter_topics="", seats="3")
    assert dict(found.custom) == {"plan": "pro", "seats": "3"}


def test_the_honeypot_short_cuts_validation() -> None:
    submission = read_submission({"email": "not even valid", fields.HONEYPOT: "http://spam"}, now=NOW)
    assert submission.honeypot and submission.lead is None and submission.email_hint == "not even valid"


def test_the_same_fields_are_the_same_submission_whatever_their_spelling() -> None:
    a = read_submission({"email": "Ana@Example.com", "first_name": "Ana"}, now=NOW)
    b = read_submission({"e-mail": " ana@example.com", "firstName": "Ana "}, now=NOW)
    c = read_submission({"email": "ana@example.com", "first_name": "Anna"}, now=NOW)
    assert a.submission_id == b.submission_id != c.submission_id
    keyed = read_submission({"email": "ana@example.com"}, now=NOW, idempotency_key="k-1")
    assert keyed.submission_id.startswith("k") and keyed.submission_id != a.submission_id


def test_thank_you_url_is_kept_as_posted_for_the_web_layer_to_resolve() -> None:
    assert read_submission({"email": "a@example.com", "_next": "/thanks"}, now=NOW).thank_you_url == "/thanks"
    assert read_submission({"email": "a@example.com", "redirect": " "}, now=NOW).thank_you_url is None


def test_every_field_is_in_the_published_schema() -> None:
    schema = fields.json_schema()
    assert set(schema["properties"]) == {f.name for f in fields.FIELDS}
    assert schema["required"] == ["email"]
