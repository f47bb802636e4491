"""POST /leads through the handler, with API Gateway v2 events shaped as AWS sends them, on moto."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.stub import Stubber

from crm_core.models import Contact, Enrollment, contact_id_for
from crm_core.models.contacts import occasion_day
from tests.helpers import http_event, load_handler

ZOE = "Zoë Müller-Łukasiewicz"
FORM_HEADERS = {
    "content-type": "application/x-www-form-urlencoded",
    "accept": "text/html,application/xhtml+xml",
}


@pytest.fixture(scope="module")
def handler() -> Any:
    return load_handler("capture_lead")


@pytest.fixture
def post(handler: Any, stack: Any, frozen_clock: Any, lambda_context: Any) -> Any:
    def send(body: Any = None, headers: dict[str, str] | None = None, **kw: Any) -> dict[str, Any]:
        answer = handler.lambda_handler(
            http_event("POST", "/leads", body=body, headers=headers, **kw), lambda_context
        )
        assert "Traceback" not in answer.get("body", "")
        return answer

    return send


def body(answer: dict[str, Any]) -> Any:
    return json.loads(answer["body"])


def contact(email: str) -> Contact:
    return Contact.get(contact_id_for(email), consistent_read=True)


def multipart(
    fields: dict[str, str], boundary: str = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
) -> tuple[bytes, str]:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode(
        "utf-8"
    ), f"multipart/form-data; boundary={boundary}"


# ---- each content type ---------------------------------------------------------------------------
def test_json_lead_becomes_a_contact_enrolled_in_the_welcome_series(post: Any) -> None:
    answer = post(
        {
            "email": "Zoe.Muller@Example.com",
            "first_name": "Zoë",
            "last_name": "Müller-Łukasiewicz",
            "phone": "030 1234567",
            "locale": "de",
            "time_zone": "Europe/Berlin",
            "birthday": "1990-05-17",
            "company": "Łódź Widgets",
            "consent": True,
            "form_id": "contact",
            "source_page": "https://shop.example.com/contact?utm_source=newsletter&email=zoe@example.com",
        }
    )

    assert answer["statusCode"] == 201
    assert body(answer) == {"contact_id": contact_id_for("zoe.muller@example.com")}
    stored = contact("zoe.muller@example.com")
    assert (stored.first_name, stored.last_name, stored.company) == (
        "Zoë",
        "Müller-Łukasiewicz",
        "Łódź Widgets",
    )
    assert stored.phone == "+49301234567"  # national number, region from the locale
    assert (stored.locale, stored.time_zone, stored.birthday) == ("de", "Europe/Berlin", "1990-05-17")
    assert stored.birthday_day == occasion_day("1990-05-17", stored.contact_id)
    assert stored.consent is not None and stored.consent.granted is True
    assert stored.consent.form_id == "contact"
    assert stored.first_touch is not None
    assert stored.first_touch.source_page == "https://shop.example.com/contact"  # no query: it may hold PII
    assert stored.first_touch.utm.as_dict() == {"utm_source": "newsletter"}
    enrollments = [(e.enrollment_key, e.status) for e in Enrollment.query(stored.contact_id)]
    assert enrollments == [("welcome", "active")]


def test_urlencoded_form_post_arrives_base64_encoded_and_is_read_as_utf8(post: Any) -> None:
    form = urlencode(
        {
            "email": "putu@example.id",
            "name": "Putu Ayu",
            "phone": "0812-3456-7890",
            "locale": "id",
            "consent": "on",
            "time_zone": "Asia/Makassar",
        }
    )
    answer = post(form, {"content-type": "application/x-www-form-urlencoded"})

    assert answer["statusCode"] == 201
    stored = contact("putu@example.id")
    assert (stored.first_name, stored.last_name) == ("Putu Ayu", None)  # one name, not split
    assert stored.phone == "+6281234567890"
    assert stored.consent.granted is True


def test_multipart_form_data_keeps_names_and_multiline_messages(post: Any) -> None:
    raw, content_type = multipart(
        {"email": "zoe@example.com", "first_name": ZOE, "message": "Hallo!\r\nZwei Zeilen.", "plan": "pro"}
    )
    answer = post(raw, {"content-type": content_type})

    assert answer["statusCode"] == 201
    stored = contact("zoe@example.com")
    assert stored.first_name == ZOE
    assert stored.last_touch.message == "Hallo!\r\nZwei Zeilen."
    assert stored.custom.as_dict() == {"plan": "pro"}


def test_json_body_is_accepted_base64_encoded_too(post: Any) -> None:
    raw = json.dumps({"email": "ana@example.com", "first_name": "Ana"}).encode()
    answer = post(raw, {"content-type": "application/json; charset=utf-8"}, base64_body=True)
    assert answer["statusCode"] == 201
    assert contact("ana@example.com").first_name == "Ana"


# ---- merge rules -----------------------------------------------------------------------------------
def test_second_post_of_same_form_merges_contact(post: Any, frozen_clock: Any) -> None:
    from datetime import timedelta

    first = post(
        {
            "email": "ana@example.com",
            "first_name": "Ana",
            "company": "Acme",
            "form_id": "contact",
            "source_page": "https://example.com/a",
            "utm_campaign": "spring",
        }
    )
    frozen_clock.advance(timedelta(days=3))
    second = post(
        {
            "email": " ANA@example.com ",
            "first_name": "",
            "last_name": "Lima",
            "form_id": "newsletter",
            "source_page": "https://example.com/b",
        }
    )

    assert (first["statusCode"], second["statusCode"]) == (201, 200)
    assert body(first) == body(second)
    stored = contact("ana@example.com")
    assert (stored.first_name, stored.last_name, stored.company) == (
        "Ana",
        "Lima",
        "Acme",
    )  # empty never wins
    assert (stored.first_touch.form_id, stored.first_touch.utm.as_dict()) == (
        "contact",
        {"utm_campaign": "spring"},
    )
    assert (stored.last_touch.form_id, stored.last_touch.source_page) == (
        "newsletter",
        "https://example.com/b",
    )
    assert stored.created_at < stored.updated_at
    assert stored.posts == 2
    assert len(list(Enrollment.query(stored.contact_id))) == 1


def test_same_post_twice_gives_one_contact_and_the_same_answer(post: Any) -> None:
    lead = {"email": "ana@example.com", "first_name": "Ana", "form_id": "contact"}
    first, again = post(lead), post(lead)
    merge = {"email": "ana@example.com", "company": "Acme"}
    merged, merged_again = post(merge), post(merge)

    assert (
        (first["statusCode"], first["body"]) == (again["statusCode"], again["body"]) == (201, first["body"])
    )
    assert (merged["statusCode"], merged_again["statusCode"]) == (200, 200)
    assert contact("ana@example.com").posts == 2
    assert len(list(Enrollment.query(contact_id_for("ana@example.com")))) == 1


def test_an_older_post_sent_again_after_a_different_one_is_applied_not_dropped(post: Any) -> None:
    # Post Z, then Y, then Z again: the third says something Y changed, so it is news.
    z = {"email": "ana@example.com", "first_name": "Ana"}
    y = {"email": "ana@example.com", "first_name": "Anna", "company": "Acme"}
    assert [post(z)["statusCode"], post(y)["statusCode"], post(z)["statusCode"]] == [201, 200, 200]
    assert (contact("ana@example.com").posts, contact("ana@example.com").first_name) == (3, "Ana")


def test_idempotency_key_names_the_submission(post: Any) -> None:
    key = {"idempotency-key": "7f1c2c1e-form-retry"}
    first = post({"email": "ana@example.com", "first_name": "Ana"}, key)
    retried = post({"email": "ana@example.com", "first_name": "Ana"}, key)
    other = post({"email": "ana@example.com", "first_name": "Ana"}, {"idempotency-key": "another"})
    assert [first["statusCode"], retried["statusCode"], other["statusCode"]] == [201, 201, 200]


def test_opt_out_is_undone_only_by_a_consent_the_address_owner_confirms(post: Any) -> None:
    # An anonymous post used to lift the opt-out; now it only asks the owner (double opt-in).
    post({"email": "ana@example.com", "consent": True})
    stored = contact("ana@example.com")
    stored.update(actions=[Contact.marketing_opt_out.set(True)])  # she unsubscribed

    post({"email": "ana@example.com", "first_name": "Ana"})  # no word on consent
    post({"email": "ana@example.com", "consent": "no", "form_id": "quote"})  # says no again
    assert contact("ana@example.com").marketing_opt_out is True
    assert contact("ana@example.com").consent.granted is False

    post(
        {
            "email": "ana@example.com",
            "consent": "on",
            "form_id": "newsletter",
            "source_page": "https://example.com/n",
        }
    )
    stored = contact("ana@example.com")
    assert stored.marketing_opt_out is True and stored.consent.granted is False
    assert (stored.consent_pending.granted, stored.consent_pending.form_id) == (True, "newsletter")
    assert (stored.consent_pending.source_page, stored.consent_pending.at) == (
        "https://example.com/n",
        "2026-11-23T10:00:00Z",
    )


def test_consenting_again_after_an_unsubscribe_lifts_nothing_until_confirmed(
    post: Any, frozen_clock: Any
) -> None:
    from crm_core.messaging import suppressions

    post({"email": "ana@example.com", "consent": True})
    post({"email": "bo@example.com", "consent": True})
    for email, scope, reason in (
        ("ana@example.com", "marketing", "unsubscribed"),
        ("bo@example.com", "all", "bounce"),
    ):
        contact(email).update(actions=[Contact.marketing_opt_out.set(True)])
        suppressions.suppress(email, scope=scope, reason=reason, now=frozen_clock.now())

    post({"email": "ana@example.com", "consent": "on", "form_id": "newsletter"})
    post({"email": "bo@example.com", "consent": "on", "form_id": "newsletter"})

    ana, bo = suppressions.suppression_for("ana@example.com"), suppressions.suppression_for("bo@example.com")
    assert suppressions.blocks(ana, marketing=True)  # lifted only by the owner's confirmation
    assert suppressions.blocks(bo, marketing=False)  # a bounced address stays closed to all mail


def test_a_phone_that_does_not_parse_is_kept_as_written_until_one_does(post: Any) -> None:
    post({"email": "ana@example.com", "phone": "call me after 6"})
    assert (contact("ana@example.com").phone, contact("ana@example.com").phone_raw) == (
        None,
        "call me after 6",
    )
    post({"email": "ana@example.com", "phone": "+39 333 123 4567"})
    assert (contact("ana@example.com").phone, contact("ana@example.com").phone_raw) == ("+393331234567", None)


def test_a_birthday_without_year_lands_in_the_birthday_index(post: Any) -> None:
    post({"email": "ana@example.com", "birthday": "--02-29"})
    stored = contact("ana@example.com")
    assert stored.birthday == "--02-29"
    assert [c.contact_id for c in Contact.birthday_index.query(stored.birthday_day)] == [stored.contact_id]


def test_a_later_post_without_a_consent_decision_keeps_the_recorded_no(post: Any) -> None:
    post({"email": "ana@example.com", "consent": "no", "form_id": "quote"})
    post({"email": "ana@example.com", "first_name": "Ana", "form_id": "newsletter"})  # says nothing

    stored = contact("ana@example.com")
    assert (stored.consent.granted, stored.consent.form_id) == (False, "quote")
    assert stored.first_name == "Ana"


def test_a_first_post_records_consent_and_leaves_marketing_open_only_when_it_consents(
    post: Any, frozen_clock: Any
) -> None:
    post({"email": "ana@example.com", "consent": "on", "form_id": "newsletter"})
    post({"email": "bo@example.com", "form_id": "newsletter"})

    ana, bo = contact("ana@example.com"), contact("bo@example.com")
    assert (ana.consent.granted, ana.consent.form_id, ana.marketing_opt_out) == (True, "newsletter", False)
    assert (bo.consent, bo.marketing_opt_out) == (None, None)
    assert ana.created_at == ana.updated_at == frozen_clock.now()


def test_a_birthday_arriving_on_a_later_post_is_indexed(post: Any) -> None:
    post({"email": "ana@example.com", "first_name": "Ana"})
    post({"email": "ana@example.com", "birthday": "1990-07-14"})

    stored = contact("ana@example.com")
    assert stored.birthday == "1990-07-14"
    assert stored.birthday_day == occasion_day("1990-07-14", stored.contact_id)
    assert [c.contact_id for c in Contact.birthday_index.query(stored.birthday_day)] == [stored.contact_id]


def test_a_phone_that_does_not_parse_arriving_on_a_later_post_is_kept(post: Any) -> None:
    post({"email": "ana@example.com", "first_name": "Ana"})
    post({"email": "ana@example.com", "phone": "call me after 6"})

    assert (contact("ana@example.com").phone, contact("ana@example.com").phone_raw) == (
        None,
        "call me after 6",
    )


def test_every_kind_of_field_on_a_later_post_is_merged(post: Any, frozen_clock: Any) -> None:
    from datetime import timedelta

    post({"email": "ana@example.com", "plan": "pro", "utm_source": "ads", "form_id": "contact"})
    frozen_clock.advance(timedelta(hours=1))
    post(
        {
            "email": "ana@example.com",
            "first_name": "Ana",
            "last_name": "Lima",
            "company": "Acme",
            "birthday": "--07-14",
            "locale": "it",
            "time_zone": "Europe/Rome",
            "phone": "+39 333 123 4567",
            "consent": "yes",
            "seats": "5",
            "utm_source": "mail",
            "form_id": "quote",
            "message": "call me",
        }
    )

    stored = contact("ana@example.com")
    profile = (stored.first_name, stored.last_name, stored.company, stored.birthday, stored.locale)
    assert profile == ("Ana", "Lima", "Acme", "--07-14", "it")
    assert (stored.time_zone, stored.phone, stored.consent.granted) == ("Europe/Rome", "+393331234567", True)
    assert stored.custom.as_dict() == {"plan": "pro", "seats": "5"}  # the stored attributes stay
    assert (stored.first_touch.form_id, stored.first_touch.utm.as_dict()) == (
        "contact",
        {"utm_source": "ads"},
    )
    assert (stored.last_touch.form_id, stored.last_touch.message) == ("quote", "call me")
    assert stored.last_touch.utm.as_dict() == {"utm_source": "mail"}
    assert (stored.created_at, stored.updated_at) == (
        frozen_clock.now() - timedelta(hours=1),
        frozen_clock.now(),
    )


def test_only_a_repeat_of_the_latest_post_is_a_double_submit(post: Any) -> None:
    for n in range(11):
        post({"email": "ana@example.com", "first_name": f"Ana {n}"})
    assert contact("ana@example.com").posts == 11

    post({"email": "ana@example.com", "first_name": "Ana 10"})  # the latest again: a double submit
    assert contact("ana@example.com").posts == 11
    post({"email": "ana@example.com", "first_name": "Ana 1"})  # an older answer again: a new post
    assert contact("ana@example.com").posts == 12


def test_touch_and_consent_times_are_whole_seconds_in_utc(post: Any, frozen_clock: Any) -> None:
    frozen_clock.set(frozen_clock.now().replace(microsecond=654321))
    post({"email": "ana@example.com", "consent": "yes", "form_id": "newsletter"})
    post({"email": "ana@example.com", "consent": "no", "form_id": "quote"})

    stored = contact("ana@example.com")
    assert (stored.consent.at, stored.first_touch.at, stored.last_touch.at) == ("2026-11-23T10:00:00Z",) * 3
    assert stored.created_at == stored.updated_at == frozen_clock.now()


def test_a_shop_customer_who_fills_in_the_form_gets_the_form_as_first_touch(post: Any) -> None:
    from crm_core import loyalty
    from tests.loyalty_data import purchase

    loyalty.apply_order_event(purchase("A-1", "10.00", email="ana@example.com"))  # a contact without touches
    assert post({"email": "ana@example.com", "form_id": "newsletter"})["statusCode"] == 200

    stored = contact("ana@example.com")
    assert (stored.first_touch.form_id, stored.last_touch.form_id) == ("newsletter", "newsletter")
    assert stored.customer_since == "2026-11-23"


def test_unknown_fields_are_kept_within_bounds(post: Any) -> None:
    assert (
        post({"email": "ana@example.com", "plan": "pro", "how_did_you_hear": "a friend"})["statusCode"] == 201
    )
    assert contact("ana@example.com").custom.as_dict() == {"plan": "pro", "how_did_you_hear": "a friend"}

    too_many = post({"email": "ana@example.com", **{f"extra{i}": "x" for i in range(21)}})
    assert too_many["statusCode"] == 400
    assert {"field": "custom", "message": "at most 20 extra fields per post"} in [
        {"field": e["field"], "message": e["message"]} for e in body(too_many)["errors"]
    ]
    too_long = post({"email": "ana@example.com", "notes": "x" * 501, "Your City?": "Rome"})
    assert {e["field"] for e in body(too_long)["errors"]} == {"notes", "Your City?"}


def test_a_contact_keeps_at_most_fifty_custom_attributes(post: Any, capsys: Any) -> None:
    for batch in range(3):
        post({"email": "ana@example.com", **{f"k{batch}_{i}": "v" for i in range(20)}})
    custom = contact("ana@example.com").custom.as_dict()
    assert len(custom) == 50
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    left_out = [m["LeadsCustomLeftOut"] for m in emitted if "LeadsCustomLeftOut" in m]
    assert left_out == [[10.0]]  # one post dropped ten names, and the dashboard sees it
    post({"email": "ana@example.com", "k0_0": "changed"})
    assert contact("ana@example.com").custom.as_dict()["k0_0"] == "changed"  # known keys still update


# ---- error answers ----------------------------------------------------------------------------------
def test_invalid_fields_are_all_named_in_a_400(post: Any) -> None:
    answer = post(
        {
            "email": "not-an-address",
            "birthday": "2001-02-29",
            "time_zone": "Mars/Olympus",
            "locale": "english please",
            "consent": "maybe",
            "country": "XX",
            "first_name": ["Zoë"],
        }
    )
    assert answer["statusCode"] == 400
    fields = [e["field"] for e in body(answer)["errors"]]
    assert fields == ["first_name"]  # a list is refused before anything else is read

    answer = post(
        {
            "email": "not-an-address",
            "birthday": "2001-02-29",
            "time_zone": "Mars/Olympus",
            "locale": "english please",
            "consent": "maybe",
            "country": "XX",
        }
    )
    assert answer["statusCode"] == 400
    assert sorted(e["field"] for e in body(answer)["errors"]) == sorted(
        ["email", "birthday", "time_zone", "locale", "consent", "country"]
    )
    assert post({"first_name": "Ana"})["statusCode"] == 400
    assert body(post({"first_name": "Ana"})) == {
        "errors": [
            {
                "field": "email",
                "message": "is required",
                "text": "Enter your email address, so that we can answer you.",  # for the visitor
            }
        ]
    }


def test_malformed_bodies_are_400(post: Any, handler: Any, lambda_context: Any) -> None:
    assert post('{"email": "ana@', {"content-type": "application/json"})["statusCode"] == 400
    assert post("[1, 2]", {"content-type": "application/json"})["statusCode"] == 400
    latin1 = "email=ana%40example.com&first_name=Zo\xeb".encode("latin-1")
    assert post(latin1, {"content-type": "application/x-www-form-urlencoded"})["statusCode"] == 400
    event = http_event("POST", "/leads", body=b"email=a", headers={"content-type": "multipart/form-data"})
    event["body"] = "Zm9v!!"  # not base64 although flagged so
    assert handler.lambda_handler(event, lambda_context)["statusCode"] == 400
    no_boundary = post(b"email=a", {"content-type": "multipart/form-data"})
    assert body(no_boundary)["errors"][0]["field"] == "body"


def test_body_over_64_kib_is_413(post: Any) -> None:
    big = {"email": "ana@example.com", "message": "x" * (64 * 1024)}
    assert post(big)["statusCode"] == 413
    raw, content_type = multipart({"email": "ana@example.com", "message": "y" * (70 * 1024)})
    answer = post(raw, {"content-type": content_type})  # base64 on the way in: 93 KiB of text
    assert answer["statusCode"] == 413
    assert body(answer)["errors"][0]["field"] == "body"


def test_other_content_types_are_415(post: Any) -> None:
    for content_type in ("text/plain", "application/xml", ""):
        answer = post("email=ana@example.com", {"content-type": content_type})
        assert answer["statusCode"] == 415, content_type
        assert "multipart/form-data" in answer["headers"]["Accept-Post"]


# ---- browsers without JavaScript ----------------------------------------------------------------------
def test_plain_form_post_redirects_to_an_allowed_thank_you_page(post: Any) -> None:
    form = urlencode({"email": "ana@example.com", "thank_you_url": "http://localhost:3000/thanks.html"})
    answer = post(form, FORM_HEADERS)
    assert answer["statusCode"] == 303
    assert answer["headers"]["Location"] == "http://localhost:3000/thanks.html"
    assert contact("ana@example.com").posts == 1


def test_a_relative_thank_you_url_is_resolved_against_the_posting_page(post: Any) -> None:
    form = urlencode({"email": "ana@example.com", "thank_you_url": "/examples/lead-form/thanks.html"})
    answer = post(form, {**FORM_HEADERS, "origin": "http://127.0.0.1:3000"})
    assert (answer["statusCode"], answer["headers"]["Location"]) == (
        303,
        "http://127.0.0.1:3000/examples/lead-form/thanks.html",
    )
    for sneaky in ("//evil.example/x", "javascript:alert(1)", "https://127.0.0.1:3000.evil.example/"):
        form = urlencode({"email": "ana@example.com", "thank_you_url": sneaky})
        answer = post(form, {**FORM_HEADERS, "origin": "http://127.0.0.1:3000"})
        assert answer["statusCode"] == 201 and "Location" not in answer["headers"], (
            sneaky
        )  # the built-in page


def test_thank_you_url_on_another_origin_gets_the_built_in_page(post: Any) -> None:
    form = urlencode(
        {"email": "ana@example.com", "first_name": ZOE, "thank_you_url": "https://evil.example/x"}
    )
    answer = post(form, FORM_HEADERS)
    assert answer["statusCode"] == 201
    assert answer["headers"]["Content-Type"].startswith("text/html")
    assert "Thank you, Zoë Müller-Łukasiewicz!" in answer["body"]
    assert "evil" not in answer["body"]


def test_plain_form_errors_come_back_as_a_page_naming_them(post: Any) -> None:
    form = urlencode({"email": "", "first_name": "<script>alert(1)</script>", "birthday": "17/05/1990"})
    answer = post(form, {**FORM_HEADERS, "referer": "http://127.0.0.1:3000/"})
    assert answer["statusCode"] == 400
    page = answer["body"]
    assert "<li>Enter your email address, so that we can answer you.</li>" in page
    assert "<li>Birthday: choose a day and a month (the year is optional).</li>" in page
    assert 'role="alert"' in page and '<html lang="en">' in page
    assert '<a class="back" href="http://127.0.0.1:3000/">&larr; Back to the form</a>' in page
    assert "<script>" not in page


def test_a_visitor_reads_the_problems_in_the_forms_language_while_json_still_names_the_field(
    post: Any,
) -> None:
    form = urlencode({"email": "ana(at)example", "locale": "it", "birthday_day": "31", "birthday_month": "2"})
    page = post(form, {**FORM_HEADERS, "accept-language": "de-DE,de;q=0.9"})["body"]
    assert (
        '<html lang="it">' in page and "<h1>Controlla il modulo</h1>" in page
    )  # the form's, not the browser's
    assert "<li>Inserisci un indirizzo email come nome@esempio.it.</li>" in page
    assert "<li>Compleanno: quel giorno non esiste in quel mese.</li>" in page
    assert "Example Shop" in page  # the site's band, as on every page and email

    answer = post({"email": "ana(at)example"}, {"accept-language": "de-DE,de;q=0.9,en;q=0.5"})
    (error,) = body(answer)["errors"]
    assert error["field"] == "email" and error["message"].startswith("is not a valid address")
    assert error["text"] == "Bitte geben Sie eine E-Mail-Adresse wie name@beispiel.de ein."


def test_the_thank_you_page_speaks_the_forms_language_and_links_back(post: Any) -> None:
    form = urlencode({"email": "ana@example.com", "first_name": "Ana", "locale": "id"})
    answer = post(form, {**FORM_HEADERS, "referer": "http://127.0.0.1:3000/contact"})
    assert answer["statusCode"] == 201
    assert '<html lang="id">' in answer["body"] and "<h1>Terima kasih, Ana!</h1>" in answer["body"]
    assert (
        '<a class="back" href="http://127.0.0.1:3000/contact">&larr; Kembali ke situs</a>' in answer["body"]
    )


@pytest.mark.parametrize(
    ("parts", "stored"),
    [
        ({"birthday_day": "17", "birthday_month": "5", "birthday_year": ""}, "--05-17"),
        ({"birthday_day": "7", "birthday_month": "12", "birthday_year": "1990"}, "1990-12-07"),
        ({"birthday_day": "29", "birthday_month": "2"}, "--02-29"),
    ],
)
def test_a_birthday_from_day_and_month_selects_needs_no_year(
    post: Any, parts: dict[str, str], stored: str
) -> None:
    answer = post(urlencode({"email": "ana@example.com", **parts}), FORM_HEADERS)
    assert answer["statusCode"] == 201
    assert contact("ana@example.com").birthday == stored


@pytest.mark.parametrize(
    "parts",
    [{"birthday_day": "17"}, {"birthday_month": "5", "birthday_year": "1990"}, {"birthday_year": "1990"}],
)
def test_half_a_birthday_is_refused_on_the_birthday_field(post: Any, parts: dict[str, str]) -> None:
    answer = post({"email": "ana@example.com", **parts})
    assert answer["statusCode"] == 400
    assert [(e["field"], e["message"]) for e in body(answer)["errors"]] == [
        ("birthday", "needs a day and a month (the year is optional)")
    ]


def test_a_refused_lead_logs_only_field_names_we_defined_never_a_posted_key(post: Any, caplog: Any) -> None:
    """A posted key is data: an attacker (or a confused form) can name a field after an address."""
    answer = post({"email": "not-an-address", "mario.rossi@example.com": "x", "3331234567 ": "y"})
    assert answer["statusCode"] == 400
    (refused,) = [r for r in caplog.records if r.getMessage() == "lead refused"]
    assert refused.fields == ["(custom)", "email"]


# ---- bots -------------------------------------------------------------------------------------------
def test_honeypot_gets_a_normal_looking_success_and_nothing_is_stored(post: Any, capsys: Any) -> None:
    answer = post({"email": "bot@example.com", "first_name": "Bot", "website": "http://spam.example"})
    assert answer["statusCode"] == 201
    assert body(answer) == {"contact_id": contact_id_for("bot@example.com")}
    with pytest.raises(Contact.DoesNotExist):
        contact("bot@example.com")
    assert list(Enrollment.query(contact_id_for("bot@example.com"))) == []
    assert '"LeadsHoneypot"' in capsys.readouterr().out  # the EMF metric line


# ---- DynamoDB faults -------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_dynamodb_throttling_is_a_retryable_503_and_the_retry_records_the_lead(post: Any, code: str) -> None:
    lead = {"email": "ana@example.com", "first_name": "Ana"}
    post({"email": "warm-up@example.com"})  # creates pynamodb's client, so the stub can sit on it
    client = Contact._get_connection().connection.client
    # moto cannot throttle: the stub answers what DynamoDB answers once the SDK's retries are spent.
    with Stubber(client) as stub:
        stub.add_client_error("transact_write_items", service_error_code=code, http_status_code=400)
        answer = post(lead)
    assert answer["statusCode"] == 503
    assert answer["headers"]["Retry-After"] == "2"
    assert "nothing was lost" in body(answer)["errors"][0]["message"]
    assert post(lead)["statusCode"] == 201  # the client's retry
    assert contact("ana@example.com").first_name == "Ana"


def test_throttling_shows_a_page_with_a_way_back_to_a_browser(post: Any) -> None:
    post({"email": "warm-up@example.com"})
    client = Contact._get_connection().connection.client
    with Stubber(client) as stub:
        stub.add_client_error(
            "transact_write_items",
            service_error_code="ProvisionedThroughputExceededException",
            http_status_code=400,
        )
        answer = post(urlencode({"email": "ana@example.com"}), FORM_HEADERS)
    assert answer["statusCode"] == 503
    assert "Back button" in answer["body"]


def test_a_transaction_conflict_is_retried_quietly(post: Any) -> None:
    post({"email": "warm-up@example.com"})
    client = Contact._get_connection().connection.client
    conflict = {"CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]}
    with Stubber(client) as stub:
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            http_status_code=400,
            response_meta={},
            modeled_fields=conflict,
        )
        stub.add_response("transact_write_items", {})
        answer = post({"email": "ana@example.com"})
    assert answer["statusCode"] == 201


def test_a_post_racing_another_post_of_the_same_contact_retries_and_both_count(
    post: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_core.leads import service

    post({"email": "ana@example.com", "first_name": "Ana"})
    real = service.merge_update
    raced = []

    def racing(old: Contact, *args: Any, **kw: Any) -> Any:
        if not raced:  # another post lands between this one's failed create and its update
            raced.append(True)
            contact("ana@example.com").update(actions=[Contact.posts.add(1)], add_version_condition=False)
        return real(old, *args, **kw)

    monkeypatch.setattr(service, "merge_update", racing)
    assert post({"email": "ana@example.com", "company": "Acme"})["statusCode"] == 200
    assert (contact("ana@example.com").posts, contact("ana@example.com").company) == (3, "Acme")


def test_a_post_racing_another_post_never_writes_its_stale_view_of_the_custom_fields(
    post: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_core.leads import service

    post({"email": "ana@example.com", "first_name": "Ana"})
    real = service.merge_update
    raced = []

    def racing(old: Contact, *args: Any, **kw: Any) -> Any:
        if not raced:  # the other post stores its custom field after this one read the contact
            raced.append(True)
            contact("ana@example.com").update(
                actions=[Contact.posts.add(1), Contact.custom.set({"plan": "pro"})],
                add_version_condition=False,
            )
        return real(old, *args, **kw)

    monkeypatch.setattr(service, "merge_update", racing)
    assert post({"email": "ana@example.com", "seats": "5"})["statusCode"] == 200
    assert contact("ana@example.com").custom.as_dict() == {"plan": "pro", "seats": "5"}


def test_a_contact_erased_while_still_enrolled_is_created_again(post: Any) -> None:
    post({"email": "ana@example.com"})
    contact("ana@example.com").delete()
    assert post({"email": "ana@example.com", "first_name": "Ana"})["statusCode"] == 201
    assert contact("ana@example.com").first_name == "Ana"
    assert len(list(Enrollment.query(contact_id_for("ana@example.com")))) == 1
