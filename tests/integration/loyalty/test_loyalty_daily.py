"""The daily run: lots expire through the expiry index, reminders go out once per lot, tiers fall
no more than once a year, and unsent tier messages are retried."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from crm_core import aws, loyalty
from crm_core.errors import RetryableError
from crm_core.loyalty import ledger
from crm_core.models import Contact, contact_id_for
from crm_core.models.loyalty import LedgerEntry, LotMarker, LoyaltyBalance
from tests.loyalty_data import ANA, adjustment, balance_of, ledger_sum, purchase, refund
from tests.loyalty_helpers import load_handler

CID = contact_id_for(ANA)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def daily(stack, frozen_clock, lambda_context):  # type: ignore[no-untyped-def]
    handler = load_handler("expire_points").lambda_handler
    Contact(CID, email=ANA, first_name="Ana", locale="de", created_at=frozen_clock.now()).save()
    scheduled = {"id": "evt-1", "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    return lambda: handler(scheduled, lambda_context)


def subjects(stack) -> list[str]:
    return [m.raw_data.split("Subject: ")[1].split("\r\n")[0] for m in stack.sent_emails()]


def test_a_lot_expires_on_its_day_once(daily, frozen_clock) -> None:
    loyalty.apply_order_event(purchase("A-1", "40.00"))  # 140 points, expire 2027-11-23
    frozen_clock.set(at("2027-11-22T02:30:00"))
    assert daily()["expired_points"] == 0

    frozen_clock.set(at("2027-11-23T02:30:00"))
    report = daily()
    again = daily()

    assert (report["expired_lots"], report["expired_points"]) == (1, 140)
    assert again["expired_points"] == 0
    assert balance_of(ANA) == 0 == ledger_sum(ANA)
    expiry = LedgerEntry.get(CID, "expiry#purchase#A-1")
    assert int(expiry.points) == -140
    assert not list(LotMarker.query(CID, LotMarker.entry_key.startswith("lot#")))


def test_only_what_is_left_of_a_lot_expires_and_a_spent_lot_leaves_the_index(daily, frozen_clock) -> None:
    loyalty.apply_order_event(purchase("A-1", "40.00"))  # 140
    loyalty.apply_order_event(purchase("A-2", "10.00"))  # 10
    loyalty.redeem(CID, "checkout-1", 145)  # all of A-1, 5 of A-2
    frozen_clock.set(at("2027-11-23T02:30:00"))

    report = daily()

    assert report["expired_points"] == 5
    assert balance_of(ANA) == 0 == ledger_sum(ANA)
    with pytest.raises(LedgerEntry.DoesNotExist):
        LedgerEntry.get(CID, "expiry#purchase#A-1")  # nothing was left to expire


def test_a_missed_run_is_caught_up_the_next_days(daily, frozen_clock) -> None:
    loyalty.apply_order_event(purchase("A-1", "40.00"))
    frozen_clock.set(at("2027-11-25T02:30:00"))  # the runs of the 23rd and 24th never happened

    assert daily()["expired_points"] == 140


def test_a_reminder_goes_out_thirty_days_before_once_per_lot(daily, frozen_clock, stack) -> None:
    loyalty.apply_order_event(purchase("A-1", "40.00"))
    frozen_clock.set(at("2027-10-24T02:30:00"))

    first, second = daily(), daily()

    assert (first["reminders"], second["reminders"]) == (1, 0)
    (email,) = stack.sent_emails()
    assert "140 Ihrer Punkte verfallen am 2027-11-23" in subjects(stack)[0]
    assert set(email.destinations) == {ANA}


def test_no_reminder_for_a_lot_already_spent(daily, frozen_clock, stack) -> None:
    loyalty.apply_order_event(purchase("A-1", "40.00"))
    loyalty.redeem(CID, "checkout-1", 140)
    frozen_clock.set(at("2027-10-24T02:30:00"))

    assert daily()["reminders"] == 0
    assert stack.sent_emails() == []


def test_a_tier_falls_a_year_after_it_was_reached_not_before(daily, frozen_clock, stack) -> None:
    loyalty.apply_order_event(purchase("A-1", "600.00"))  # silver on 2026-11-23, with its email
    frozen_clock.set(at("2026-12-05T09:00:00"))
    loyalty.apply_order_event(refund("A-1", "R-1", "600.00"))  # qualifying back to 0 ...
    assert loyalty.summary(CID).to_json()["tier"] == "silver"  # ... but silver is kept for a year

    frozen_clock.set(at("2027-11-22T02:30:00"))
    assert daily()["tier_changes"] == 0
    frozen_clock.set(at("2027-11-23T02:30:00"))
    report = daily()

    assert report["tier_changes"] == 1
    assert loyalty.summary(CID).to_json()["tier"] == "bronze"
    assert Contact.get(CID).tier == "bronze"
    assert subjects(stack) == ["Willkommen im Status Silver!", "Ihre Mitgliedschaft ist jetzt Bronze"]
    assert daily()["tier_changes"] == 0
    assert LoyaltyBalance.get(CID, "balance").review_key is None  # bronze cannot fall: out of the index


def test_points_expiring_on_the_review_day_do_not_postpone_the_review(daily, frozen_clock, stack) -> None:
    loyalty.apply_order_event(
        purchase("A-1", "600.00")
    )  # silver; its lot and its review both fall on 2027-11-23
    frozen_clock.set(at("2027-11-23T02:30:00"))

    report = daily()

    assert (report["expired_points"], report["tier_changes"]) == (700, 1)
    assert loyalty.summary(CID).to_json()["tier"] == "bronze"


def test_a_tier_still_earned_is_kept_and_looked_at_again_next_month(daily, frozen_clock) -> None:
    loyalty.apply_order_event(purchase("A-1", "600.00"))  # silver
    frozen_clock.set(at("2027-11-01T10:00:00"))
    loyalty.apply_order_event(purchase("A-2", "600.00"))  # still 600 qualifying in the last 12 months
    frozen_clock.set(at("2027-11-23T02:30:00"))

    assert daily()["tier_changes"] == 0
    assert LoyaltyBalance.get(CID, "balance").review_key.startswith("2027-12-01#")


def test_a_tier_message_that_failed_is_sent_by_the_daily_run(daily, frozen_clock, stack) -> None:
    throttled = ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow"}}, "SendEmail")
    with mock.patch.object(aws.sesv2(), "send_email", side_effect=throttled):
        applied = loyalty.apply_order_event(purchase("A-1", "600.00"))  # points applied: a success
    assert applied is not None and applied.tier_to == "silver"
    assert stack.sent_emails() == []

    frozen_clock.set(at("2026-11-24T02:30:00"))
    daily()

    assert subjects(stack) == ["Willkommen im Status Silver!"]
    assert LoyaltyBalance.get(CID, "balance").notice is None


def test_a_failing_step_does_not_stop_the_run_and_the_run_asks_to_be_retried(daily, frozen_clock) -> None:
    loyalty.apply_order_event(purchase("A-1", "40.00"))
    Contact(contact_id_for("bo@example.com"), email="bo@example.com", created_at=frozen_clock.now()).save()
    loyalty.apply_order_event(purchase("B-1", "10.00", email="bo@example.com"))
    frozen_clock.set(at("2027-11-23T02:30:00"))
    real = ledger.expire_lot

    def flaky(contact_id: str, lot_id: str) -> int:
        if contact_id == CID:
            raise RetryableError("throttled")
        return real(contact_id, lot_id)

    with mock.patch.object(ledger, "expire_lot", side_effect=flaky), pytest.raises(RetryableError):
        daily()
    assert balance_of("bo@example.com") == 0  # the other contact's lot expired all the same

    assert daily()["expired_points"] == 140  # Lambda's retry does what is left


@pytest.mark.parametrize("movement", ["goodwill", "correction"])
def test_a_grant_or_correction_on_the_review_day_does_not_postpone_the_review(
    daily, frozen_clock, movement: str
) -> None:
    loyalty.apply_order_event(purchase("A-1", "600.00"))  # silver on 2026-11-23: reviewed 2027-11-23
    frozen_clock.set(at("2027-11-23T01:00:00"))  # before the daily run, points move without a review
    if movement == "goodwill":
        loyalty.grant_goodwill(CID, "CASE-1", 50)
    else:
        loyalty.apply_order_event(adjustment("evt-1", -5))
    frozen_clock.set(at("2027-11-23T02:30:00"))

    assert daily()["tier_changes"] == 1
    assert loyalty.summary(CID).to_json()["tier"] == "bronze"
