"""Surveys after a purchase: a step of the post-purchase sequence, once per order, under the limits."""

from __future__ import annotations

from datetime import timedelta

from crm_core import campaigns
from crm_core.messaging import suppressions
from crm_core.models.surveys import SurveyInvitation
from tests.surveys_kit import customer, score_links, send_due, stats, surveys_in


def invitations(contact_id: str) -> list[SurveyInvitation]:
    return list(SurveyInvitation.query(contact_id, SurveyInvitation.key.startswith("invite#")))


def test_a_purchase_gets_its_survey_five_days_after_the_order_with_one_link_per_score(
    stack, frozen_clock, lambda_context
) -> None:
    contact_id = customer("ana@example.com", locale="it")
    campaigns.on_purchase(contact_id, "A-1001", frozen_clock.now())

    frozen_clock.advance(timedelta(days=1))
    send_due(lambda_context)  # the thank-you
    frozen_clock.advance(timedelta(days=3, hours=23))
    send_due(lambda_context)
    assert surveys_in(stack) == []  # the survey waits for day 5
    frozen_clock.advance(timedelta(hours=1))
    for _ in range(5):  # the schedule fires again (and EventBridge may deliver twice): one survey
        send_due(lambda_context)

    (survey,) = surveys_in(stack)
    assert survey.subject == "Quanto sei soddisfatto del tuo ordine?"
    assert sorted(score_links(survey)) == [1, 2, 3, 4, 5]
    assert "List-Unsubscribe" not in survey.headers  # a service message about the order
    invitation = SurveyInvitation.get(contact_id, "invite#after-purchase#A-1001")
    assert invitation.status == "sent" and invitation.locale == "it"
    (counted,) = stats("after-purchase")
    assert counted.day_group == "2026-11-28#all" and counted.sent == 1


def test_a_second_order_within_fourteen_days_is_not_surveyed(stack, frozen_clock, lambda_context) -> None:
    contact_id = customer("ana@example.com")
    campaigns.on_purchase(contact_id, "A-1", frozen_clock.now())
    frozen_clock.advance(timedelta(days=3))
    campaigns.on_purchase(contact_id, "A-2", frozen_clock.now())

    for _ in range(12):
        frozen_clock.advance(timedelta(days=1))
        send_due(lambda_context)

    assert len(surveys_in(stack)) == 1
    assert [i.occasion for i in invitations(contact_id)] == ["A-1"]


def test_an_order_after_the_gap_is_surveyed_again(stack, frozen_clock, lambda_context) -> None:
    contact_id = customer("ana@example.com")
    campaigns.on_purchase(contact_id, "A-1", frozen_clock.now())  # surveyed on day 5

    for day in range(1, 23):
        frozen_clock.advance(timedelta(days=1))
        if day == 15:
            campaigns.on_purchase(contact_id, "A-2", frozen_clock.now())  # surveyed on day 20: 15 days on
        send_due(lambda_context)

    assert [i.occasion for i in invitations(contact_id)] == ["A-1", "A-2"]
    assert len(surveys_in(stack)) == 2


def test_surveys_wait_for_the_end_of_quiet_hours(stack, frozen_clock, lambda_context) -> None:
    contact_id = customer("ana@example.com", zone="Europe/Rome")
    campaigns.on_purchase(contact_id, "A-1", frozen_clock.now())  # 10:00 UTC
    frozen_clock.advance(timedelta(days=1))
    send_due(lambda_context)  # the thank-you
    frozen_clock.advance(timedelta(days=4, hours=11))  # day 5, 22:00 in Rome: quiet

    send_due(lambda_context)
    assert surveys_in(stack) == []
    frozen_clock.advance(timedelta(hours=10))  # 08:00 in Rome
    send_due(lambda_context)
    assert len(surveys_in(stack)) == 1


def test_no_survey_to_an_unsubscribed_or_suppressed_address(stack, frozen_clock, lambda_context) -> None:
    unsubscribed = customer("gone@example.com")
    bounced = customer("bounced@example.com")
    suppressions.suppress(
        "gone@example.com", scope="marketing", reason="unsubscribed", now=frozen_clock.now()
    )
    suppressions.suppress("bounced@example.com", scope="all", reason="bounce", now=frozen_clock.now())
    campaigns.on_purchase(unsubscribed, "A-1", frozen_clock.now())
    campaigns.on_purchase(bounced, "A-2", frozen_clock.now())

    frozen_clock.advance(timedelta(days=6))
    send_due(lambda_context)
    send_due(lambda_context)

    assert surveys_in(stack) == []
    assert invitations(unsubscribed) == invitations(bounced) == []
