"""Unsubscribe links: GET changes nothing, POST and one-click POST unsubscribe at once, forgeries get 400."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest

from crm_core import aws, campaigns
from crm_core.campaigns.enrollment import enroll
from crm_core.messaging import Outcome, Outgoing, deliver, suppressions, tokens
from crm_core.messaging.delivery import unsubscribe_url
from crm_core.models import Contact, Enrollment, contact_id_for
from tests.followups_kit import http_event, load_handler, outbox
from tests.integration.campaigns.test_followup_sender import TIPS, WELCOME, lead, run

ADDRESS = "giulia@example.it"


@pytest.fixture
def call(stack, frozen_clock, lambda_context):
    handler = load_handler("unsubscribe").lambda_handler

    def invoke(method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        parts = urlsplit(url)
        return handler(http_event(method, parts.path, query=parts.query, **kwargs), lambda_context)

    return invoke


@pytest.fixture
def giulia(stack, frozen_clock) -> str:
    contact_id = lead(ADDRESS, first_name="Giulia", locale="it")
    enroll(contact_id, "welcome", at=frozen_clock.now())
    campaigns.on_purchase(contact_id, "A-9", frozen_clock.now())
    # Her win-back, as the lifecycle schedules it on entering dissolution (due later, marketing).
    enroll(contact_id, "win-back", at=frozen_clock.now() + timedelta(days=90), occurrence="A-9")
    return contact_id


def state(contact_id: str) -> tuple[Any, ...]:
    contact = Contact.get(contact_id, consistent_read=True)
    suppression = suppressions.suppression_for(ADDRESS)
    statuses = {e.enrollment_key: e.status for e in Enrollment.query(contact_id, consistent_read=True)}
    return (bool(contact.marketing_opt_out), suppression and suppression.scope, statuses)


def test_following_the_link_shows_a_confirmation_in_the_contacts_language_and_changes_nothing(
    call, giulia
) -> None:
    link = unsubscribe_url(giulia, "welcome.tips")
    before = state(giulia)

    page = call("GET", link)
    call("GET", link)  # a mail scanner follows it again

    assert page["statusCode"] == 200
    assert page["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert '<html lang="it">' in page["body"] and "<h1>Vuoi annullare l&#39;iscrizione" in page["body"]
    token = link.split("token=")[1]
    assert f'<form method="post" action="?token={token}">' in page["body"]
    assert '<button type="submit">Annulla l&#39;iscrizione</button>' in page["body"]
    assert (
        state(giulia)
        == before
        == (False, None, {"welcome": "active", "post-purchase#A-9": "active", "win-back#A-9": "active"})
    )


def test_pressing_the_button_unsubscribes_at_once_and_only_from_marketing(call, giulia) -> None:
    link = unsubscribe_url(giulia, "welcome.tips")

    done = call("POST", link, body=b"", headers={"content-type": "application/x-www-form-urlencoded"})
    again = call("POST", link)  # the button pressed twice

    assert done["statusCode"] == again["statusCode"] == 200
    assert "<h1>Iscrizione annullata</h1>" in done["body"] and "support@example.com" in done["body"]
    opted_out, scope, statuses = state(giulia)
    assert (opted_out, scope) == (True, "marketing")
    assert statuses == {"welcome": "exited", "post-purchase#A-9": "active", "win-back#A-9": "exited"}
    marketing = Outgoing(giulia, ADDRESS, "news", "1", "welcome-tips", "it", {}, marketing=True)
    assert deliver(marketing).outcome is Outcome.SUPPRESSED  # effective immediately


def test_one_click_from_the_mail_client_unsubscribes(call, giulia) -> None:
    response = call(
        "POST",
        unsubscribe_url(giulia, "welcome.tips"),
        body=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response["statusCode"] == 200
    assert state(giulia)[:2] == (True, "marketing")


def test_the_link_in_a_real_email_stops_the_next_steps(call, stack, frozen_clock) -> None:
    contact_id = lead(ADDRESS, first_name="Giulia")
    enroll(contact_id, "welcome", at=frozen_clock.now())
    run()
    frozen_clock.advance(timedelta(days=2))
    run()
    tips = outbox(stack)[1]
    assert tips.subject == TIPS
    visible = re.search(r'href="([^"]*/unsubscribe\?token=[^"]+)"', tips.html)
    assert visible is not None and visible.group(1).replace("&amp;", "&") == tips.unsubscribe_url
    assert tips.unsubscribe_url in tips.text

    assert (
        call(
            "POST",
            tips.unsubscribe_url,
            body=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )["statusCode"]
        == 200
    )
    frozen_clock.advance(timedelta(days=5))
    run()
    assert [m.subject for m in outbox(stack)] == [WELCOME, TIPS]


def test_the_link_in_an_email_sent_before_the_key_was_rotated_still_unsubscribes(
    call, stack, frozen_clock
) -> None:
    # Given the tips email went out, and then the operator rotated the signing key
    contact_id = lead(ADDRESS, first_name="Giulia")
    enroll(contact_id, "welcome", at=frozen_clock.now())
    run()
    frozen_clock.advance(timedelta(days=2))
    run()
    tips = outbox(stack)[1]
    assert tips.subject == TIPS
    aws.client("secretsmanager").put_secret_value(
        SecretId=stack.env["SIGNING_KEY_SECRET"], SecretString=secrets.token_hex(32)
    )
    tokens.forget_key()  # five minutes later, every cache has the new key

    # When Giulia follows the link in that email and presses the button
    page = call("GET", tips.unsubscribe_url)
    done = call("POST", tips.unsubscribe_url, headers={"content-type": "application/x-www-form-urlencoded"})

    # Then she is unsubscribed, and the next steps never arrive
    assert page["statusCode"] == done["statusCode"] == 200
    assert "<h1>You are unsubscribed</h1>" in done["body"]
    assert state(contact_id)[:2] == (True, "marketing")
    assert unsubscribe_url(contact_id, "welcome.tips") != tips.unsubscribe_url  # new links, new key
    frozen_clock.advance(timedelta(days=5))
    run()
    assert [m.subject for m in outbox(stack)] == [WELCOME, TIPS]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forged_altered_or_missing_token_is_refused_with_400(call, giulia, method: str) -> None:
    genuine = unsubscribe_url(giulia, "welcome.tips")
    kid, body, signature = genuine.split("token=")[1].split(".")
    other = (
        unsubscribe_url(contact_id_for("someone@else.com"), "welcome.tips").split("token=")[1].split(".")[1]
    )
    for bad in (
        f"/unsubscribe?token={kid}.{body}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",  # altered
        f"/unsubscribe?token={kid}.{other}.{signature}",  # someone else's payload, our signature
        f"/unsubscribe?token={kid}.{body}",  # signature cut off
        f"/unsubscribe?token={body}.{signature}",  # key id cut off
        "/unsubscribe",  # no token at all
    ):
        page = call(method, bad, headers={"accept-language": "de-CH,de;q=0.9,en;q=0.5"})
        assert page["statusCode"] == 400, bad
        assert "<h1>Dieser Link funktioniert nicht</h1>" in page["body"]
    assert state(giulia)[:2] == (False, None)


def test_an_unsubscribed_contact_is_told_so_without_a_button(call, giulia) -> None:
    link = unsubscribe_url(giulia, "welcome.tips")
    call("POST", link)
    page = call("GET", link)
    assert page["statusCode"] == 200
    assert "già annullata" in page["body"] and "<button" not in page["body"]


def test_pages_are_safe_to_show_and_never_cached(call, giulia) -> None:
    headers = call("GET", unsubscribe_url(giulia, "welcome.tips"))["headers"]
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_browser_languages_are_ranked_by_quality() -> None:
    from crm_core.campaigns.unsubscribe import browser_locales

    assert browser_locales("en;q=0.5, id-ID, de;q=0.8, *;q=0.1") == ["id-id", "de", "en"]
    assert browser_locales(None) == [] and browser_locales("fr;q=x") == []


def test_a_dynamodb_fault_fails_the_request_and_a_retry_unsubscribes(call, giulia) -> None:
    # moto does not throttle: this fake raises what pynamodb raises when DynamoDB does. The function
    # fails (API Gateway answers 500), nothing half-done blocks the retry.
    from botocore.exceptions import ClientError
    from pynamodb.exceptions import UpdateError

    from crm_core.models.messages import Suppression

    link = unsubscribe_url(giulia, "welcome.tips")
    throttled = UpdateError(
        "Failed to update item",
        cause=ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem"),
    )
    with mock.patch.object(Suppression, "update", side_effect=throttled), pytest.raises(UpdateError):
        call("POST", link)
    assert state(giulia)[:2] == (False, None)

    assert call("POST", link)["statusCode"] == 200
    assert state(giulia)[:2] == (True, "marketing")
