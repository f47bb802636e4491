"""Consent and precedence: an anonymous post never undoes an unsubscribe, the address owner confirms
through a signed link (double opt-in), and a less trusted source never overwrites a more trusted one."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from crm_core.contacts import consent
from crm_core.leads.merge import Source
from crm_core.leads.service import capture
from crm_core.leads.validation import read_submission
from crm_core.messaging import suppressions, tokens
from crm_core.models import Contact, contact_id_for
from crm_core.settings import reset_settings
from tests.helpers import http_event, load_handler, outbox

ANA = "ana@example.com"


@pytest.fixture
def post(stack: Any, frozen_clock: Any, lambda_context: Any) -> Any:
    handler = load_handler("capture_lead")

    def send(fields: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        event = http_event("POST", "/leads", body=fields, headers=headers)
        answer: dict[str, Any] = handler.lambda_handler(event, lambda_context)
        return answer

    return send


@pytest.fixture
def link(lambda_context: Any) -> Any:
    """Follow a /consent link as a browser (GET) or the page's button (POST) would."""
    handler = load_handler("unsubscribe")

    def follow(method: str, url: str) -> dict[str, Any]:
        parts = urlsplit(url)
        event = http_event(method, parts.path, query=parts.query)
        answer: dict[str, Any] = handler.lambda_handler(event, lambda_context)
        return answer

    return follow


def stored(email: str = ANA) -> Contact:
    return Contact.get(contact_id_for(email), consistent_read=True)


def confirmation_links(stack: Any, to: str = ANA) -> list[str]:
    return [
        m
        for mail in outbox(stack)
        if mail.to == to
        for m in re.findall(r"https?://\S+/consent\?token=\S+", mail.text)
    ]


def unsubscribed(post: Any, clock: Any, email: str = ANA, scope: str = "marketing") -> None:
    """Given a contact who consented once, then unsubscribed (or bounced: scope "all")."""
    assert post({"email": email, "consent": True, "form_id": "signup"})["statusCode"] == 201
    stored(email).update(actions=[Contact.marketing_opt_out.set(True)])
    suppressions.suppress(
        email, scope=scope, reason="unsubscribed" if scope == "marketing" else "bounce", now=clock.now()
    )


def marketing_blocked(email: str = ANA) -> bool:
    return suppressions.blocks(suppressions.suppression_for(email), marketing=True)


# ---- renewed consent after an opt-out -------------------------------------------------------------
def test_an_anonymous_consent_never_lifts_an_unsubscribe_and_mails_the_owner_a_link(
    post: Any, stack: Any, frozen_clock: Any
) -> None:
    unsubscribed(post, frozen_clock)

    answer = post({"email": ANA, "consent": "on", "first_name": "Mallory", "form_id": "newsletter"})

    assert answer["statusCode"] == 200
    ana = stored()
    assert ana.marketing_opt_out is True and marketing_blocked()
    assert ana.consent_pending is not None and ana.consent_pending.form_id == "newsletter"
    [url] = confirmation_links(stack)
    assert url.startswith("https://crm.example.com/consent?token=")
    mail = next(m for m in outbox(stack) if m.to == ANA)
    assert "Mallory" not in mail.text + mail.html + mail.subject  # the name came from the anonymous post


def test_the_owner_confirms_with_a_post_after_a_get_that_changes_nothing(
    post: Any, stack: Any, frozen_clock: Any, link: Any
) -> None:
    unsubscribed(post, frozen_clock)
    post({"email": ANA, "consent": True, "form_id": "newsletter"})
    [url] = confirmation_links(stack)

    page = link("GET", url)
    assert page["statusCode"] == 200 and '<form method="post"' in page["body"]
    assert stored().marketing_opt_out is True and marketing_blocked()  # a mail scanner's GET did nothing

    frozen_clock.advance(timedelta(hours=2))
    assert link("POST", url)["statusCode"] == 200
    ana = stored()
    assert ana.marketing_opt_out is False and not marketing_blocked()
    assert (ana.consent.granted, ana.consent.source, ana.consent.form_id) == (True, "confirmed", "newsletter")
    assert ana.consent.at == "2026-11-23T12:00:00Z" and ana.consent_pending is None
    assert link("POST", url)["statusCode"] == 200  # pressed twice: still subscribed, no error


def test_a_bounce_or_complaint_is_never_lifted_by_consent_not_even_a_confirmed_one(
    post: Any, stack: Any, frozen_clock: Any
) -> None:
    unsubscribed(post, frozen_clock, scope="all")
    post({"email": ANA, "consent": True})
    assert confirmation_links(stack) == []  # no mail goes to a bounced address
    pending = stored().consent_pending
    assert pending is not None

    consent.confirm(consent.confirm_url(contact_id_for(ANA), pending.at).split("token=")[1])

    assert suppressions.blocks(suppressions.suppression_for(ANA), marketing=False)


def test_an_unsubscribe_after_the_link_was_sent_makes_the_link_invalid(
    post: Any, stack: Any, frozen_clock: Any, link: Any
) -> None:
    from crm_core.campaigns.unsubscribe import unsubscribe
    from crm_core.messaging.delivery import unsubscribe_url

    unsubscribed(post, frozen_clock)
    post({"email": ANA, "consent": True})
    [url] = confirmation_links(stack)
    unsubscribe(unsubscribe_url(contact_id_for(ANA), "welcome.2").split("token=")[1])

    assert link("GET", url)["statusCode"] == 400
    assert link("POST", url)["statusCode"] == 400
    assert stored().marketing_opt_out is True and marketing_blocked()


@pytest.mark.parametrize("tamper", ["forged", "expired", "other purpose"])
def test_a_forged_expired_or_misused_link_is_refused_with_a_400_page(
    post: Any, stack: Any, frozen_clock: Any, link: Any, tamper: str
) -> None:
    unsubscribed(post, frozen_clock)
    post({"email": ANA, "consent": True})
    [url] = confirmation_links(stack)
    token = parse_qs(urlsplit(url).query)["token"][0]
    if tamper == "forged":
        url = url.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    elif tamper == "expired":
        frozen_clock.advance(consent.VALID_FOR + timedelta(minutes=1))
    else:
        url = url.replace(token, tokens.sign({"c": contact_id_for(ANA), "k": "welcome.2"}, "unsubscribe"))

    assert link("GET", url)["statusCode"] == 400
    assert link("POST", url)["statusCode"] == 400
    assert stored().marketing_opt_out is True and marketing_blocked()


def test_posting_in_a_loop_mails_one_confirmation_a_day(post: Any, stack: Any, frozen_clock: Any) -> None:
    unsubscribed(post, frozen_clock)
    for n in range(5):
        post({"email": ANA, "consent": True, "company": f"Loop {n}"})
    assert len(confirmation_links(stack)) == 1
    frozen_clock.advance(timedelta(days=1, minutes=1))
    post({"email": ANA, "consent": True})
    assert len(confirmation_links(stack)) == 2


def test_a_refusal_always_counts_and_withdraws_an_open_request(
    post: Any, stack: Any, frozen_clock: Any
) -> None:
    unsubscribed(post, frozen_clock)
    post({"email": ANA, "consent": True})
    post({"email": ANA, "consent": False})
    ana = stored()
    assert ana.consent.granted is False and ana.consent_pending is None


def test_a_refusal_on_a_form_must_be_confirmed_away_too(post: Any, stack: Any) -> None:
    post({"email": ANA, "consent": False})
    post({"email": ANA, "consent": True})
    assert stored().consent.granted is False and len(confirmation_links(stack)) == 1


def test_a_first_consent_counts_at_once_by_default(post: Any, stack: Any) -> None:
    post({"email": ANA, "consent": True})
    ana = stored()
    assert (ana.consent.granted, ana.consent.source) == (True, "form") and confirmation_links(stack) == []


def test_double_opt_in_always_asks_every_consent(post: Any, stack: Any, monkeypatch: Any, link: Any) -> None:
    monkeypatch.setenv("DOUBLE_OPT_IN", "always")
    reset_settings()
    assert post({"email": ANA, "consent": True})["statusCode"] == 201
    ana = stored()
    assert ana.consent is None and ana.consent_pending is not None
    [url] = confirmation_links(stack)
    assert link("POST", url)["statusCode"] == 200
    assert (stored().consent.granted, stored().consent.source) == (True, "confirmed")
    post({"email": ANA, "consent": True})  # already confirmed: nothing to ask
    assert len(confirmation_links(stack)) == 1


# ---- precedence of sources ------------------------------------------------------------------------
def _capture(fields: dict[str, Any], source: Source, clock: Any) -> None:
    submission = read_submission(fields, now=clock.now())
    assert submission.lead is not None
    capture(submission.lead, submission_id=submission.submission_id, source=source)


def test_an_anonymous_post_never_overwrites_what_a_more_trusted_source_set(
    post: Any, frozen_clock: Any
) -> None:
    _capture({"email": ANA, "first_name": "Ana", "phone": "+39 333 123 4567"}, Source.IMPORT, frozen_clock)

    answer = post({"email": ANA, "first_name": "Mallory", "phone": "+39 333 000 0000", "company": "Acme"})

    assert answer["statusCode"] == 200
    ana = stored()
    assert (ana.first_name, ana.phone, ana.company) == ("Ana", "+393331234567", "Acme")
    assert ana.field_sources.as_dict() == {"first_name": "import", "phone": "import", "company": "form"}


def test_a_more_trusted_source_overwrites_a_less_trusted_one(post: Any, frozen_clock: Any) -> None:
    post({"email": ANA, "first_name": "Anna"})
    post({"email": ANA, "first_name": "Annie"})  # a form may correct what a form said
    assert stored().first_name == "Annie"
    _capture({"email": ANA, "first_name": "Ana"}, Source.IMPORT, frozen_clock)
    _capture({"email": ANA, "first_name": "Ana Maria"}, Source.AGENT, frozen_clock)
    _capture({"email": ANA, "first_name": "Ana"}, Source.ORDER, frozen_clock)
    assert (stored().first_name, stored().field_sources["first_name"]) == ("Ana Maria", "agent")


def test_fields_kept_from_a_more_trusted_source_are_not_kept_in_silence(
    post: Any, frozen_clock: Any, capsys: Any, caplog: Any
) -> None:
    _capture({"email": ANA, "first_name": "Ana"}, Source.IMPORT, frozen_clock)
    post({"email": ANA, "first_name": "Mallory"})
    assert '"LeadsFieldsKept":[1.0]' in capsys.readouterr().out  # the EMF metric line
    [recorded] = [r for r in caplog.records if r.getMessage() == "lead recorded"]
    assert recorded.fields_kept == ["first_name"]


def test_an_anonymous_consent_does_not_overwrite_a_confirmed_one(
    post: Any, stack: Any, link: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("DOUBLE_OPT_IN", "always")
    reset_settings()
    post({"email": ANA, "consent": True, "form_id": "newsletter"})
    [url] = confirmation_links(stack)
    link("POST", url)
    post({"email": ANA, "consent": True, "form_id": "other"})
    assert (stored().consent.source, stored().consent.form_id) == ("confirmed", "newsletter")


def test_the_answer_of_an_anonymous_post_reveals_nothing_about_the_contact(
    post: Any, frozen_clock: Any
) -> None:
    unsubscribed(post, frozen_clock)
    answer = post({"email": ANA, "consent": True})
    assert json.loads(answer["body"]) == {"contact_id": contact_id_for(ANA)}


def test_an_unparseable_phone_does_not_replace_a_more_trusted_number_and_says_so(
    post: Any, frozen_clock: Any, caplog: Any
) -> None:
    _capture({"email": ANA, "phone": "+39 333 123 4567"}, Source.IMPORT, frozen_clock)
    post({"email": ANA, "phone": "call me after 6"})  # does not parse: kept raw only where it may be

    [recorded] = [r for r in caplog.records if r.getMessage() == "lead recorded"]
    assert recorded.fields_kept == ["phone"]
    assert (stored().phone, stored().phone_raw) == ("+393331234567", None)


def test_a_later_post_without_a_phone_keeps_the_raw_number_an_earlier_one_gave(post: Any) -> None:
    post({"email": ANA, "phone": "call me after 6"})
    assert stored().phone_raw == "call me after 6"
    post({"email": ANA, "first_name": "Ana"})  # says nothing about the phone

    assert (stored().phone, stored().phone_raw, stored().first_name) == (None, "call me after 6", "Ana")
