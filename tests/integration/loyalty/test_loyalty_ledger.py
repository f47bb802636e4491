"""The ledger against moto: what a customer, the shop and the other areas would notice."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest

from crm_core import aws, loyalty
from crm_core.errors import NotFound, RetryableError, ValidationFailed
from crm_core.loyalty import ledger, store
from crm_core.loyalty.errors import IdempotencyKeyReused, InsufficientPoints, OutstandingDebt
from crm_core.models import Contact, contact_id_for
from crm_core.models.loyalty import LedgerEntry, LotMarker, OrderRecord
from tests.loyalty_data import ANA, add_version, adjustment, balance_of, ledger_sum, purchase, refund

CID = contact_id_for(ANA)


def entry(key: str) -> LedgerEntry:
    return LedgerEntry.get(CID, key, consistent_read=True)


@pytest.fixture
def ana(stack, frozen_clock) -> str:
    Contact(CID, email=ANA, first_name="Ana", locale="it", created_at=frozen_clock.now()).save()
    return CID


def test_a_purchase_keeps_what_the_contact_already_had_and_adds_customer_since(ana, frozen_clock) -> None:
    loyalty.apply_order_event(purchase("A-1", "80.00"))

    contact = Contact.get(CID)
    assert (contact.first_name, contact.locale, contact.email) == ("Ana", "it", ANA)
    assert contact.customer_since == "2026-11-23"
    assert contact.anniversary_day and contact.anniversary_day.startswith("11-23#")
    assert contact.tier == "bronze"
    assert contact.version == 2  # bumped, so a stale copy elsewhere cannot overwrite the tier


def test_an_imported_customer_since_is_not_overwritten(ana) -> None:
    contact = Contact.get(CID)
    contact.customer_since = "2019-05-02"
    contact.save()

    loyalty.apply_order_event(purchase("A-1", "80.00"))

    assert Contact.get(CID).customer_since == "2019-05-02"


def test_a_contact_created_between_our_read_and_our_write_is_not_clobbered(stack, frozen_clock) -> None:
    real_snapshot = store.snapshot
    calls = {"n": 0}

    def racing_snapshot(*args: Any, **kwargs: Any) -> store.Snapshot:
        read = real_snapshot(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:  # the lead form saves the contact just after we looked
            Contact(CID, email=ANA, first_name="Ana", created_at=frozen_clock.now()).save()
        return read

    with mock.patch.object(store, "snapshot", side_effect=racing_snapshot):
        loyalty.apply_order_event(purchase("A-1", "10.00"))

    contact = Contact.get(CID)
    assert calls["n"] == 2  # the put-if-absent lost; the second attempt updated instead
    assert contact.first_name == "Ana"
    assert contact.customer_since == "2026-11-23"
    assert balance_of(ANA) == 110


def test_one_transaction_per_earn_or_redeem_and_none_for_a_replay(ana) -> None:
    client = aws.dynamodb()
    with mock.patch.object(client, "transact_write_items", wraps=client.transact_write_items) as calls:
        loyalty.apply_order_event(purchase("A-1", "30.00"))
        assert calls.call_count == 1
        loyalty.apply_order_event(purchase("A-2", "30.00"))
        assert calls.call_count == 2
        loyalty.redeem(CID, "checkout-1", 50)
        assert calls.call_count == 3
        loyalty.apply_order_event(purchase("A-1", "30.00"))
        loyalty.redeem(CID, "checkout-1", 50)
        assert calls.call_count == 3  # replays found their entries and wrote nothing
    (first,) = [c.kwargs["TransactItems"] for c in calls.call_args_list[:1]]
    assert "attribute_not_exists" in first[0]["Put"]["ConditionExpression"]  # the entry comes first
    assert first[1]["Put"]["Item"]["entry_key"] == {"S": "balance"}


def test_refunds_reverse_in_proportion_with_the_rule_version_that_earned_them(
    ana, frozen_clock, rules_dir
) -> None:
    loyalty.apply_order_event(purchase("A-1", "100.00"))  # 100 + 100 bonus under 2026-01
    add_version(rules_dir, "2027-01", "2026-12-01", points_per_unit={"EUR": "3"})
    frozen_clock.advance(timedelta(days=10))

    loyalty.apply_order_event(refund("A-1", "R-1", "25.00"))
    loyalty.apply_order_event(refund("A-1", "R-2", "75.00"))

    first, second = entry("refund#R-1"), entry("refund#R-2")
    assert (int(first.points), first.rule_version) == (-50, "2026-01")  # a quarter of 200, not of 3 x 100
    assert (int(second.points), second.rule_version) == (-150, "2026-01")  # the rest, exactly
    assert balance_of(ANA) == 0 == ledger_sum(ANA)
    order = OrderRecord.get(CID, "order#A-1")
    assert (order.refunded_amount, int(order.refunded_points)) == ("100.00", 200)
    loyalty.apply_order_event(purchase("A-2", "10.00"))
    assert int(entry("purchase#A-2").points) == 30 and entry("purchase#A-2").rule_version == "2027-01"


def test_partial_refunds_never_take_back_more_than_the_order_earned(ana) -> None:
    loyalty.apply_order_event(purchase("A-1", "33.33"))  # 33 + 100 = 133 points
    for n in range(3):
        loyalty.apply_order_event(refund("A-1", f"R-{n}", "11.11"))
    loyalty.apply_order_event(refund("A-1", "R-9", "5.00"))  # more than is left to refund

    taken = [-int(entry(f"refund#R-{n}").points) for n in (0, 1, 2, 9)]
    assert taken == [44, 44, 45, 0]  # floors that add up to the whole: 133
    assert balance_of(ANA) == 0


def test_a_refund_of_spent_points_records_a_debt_that_blocks_redemption_until_repaid(ana) -> None:
    loyalty.apply_order_event(purchase("A-1", "100.00"))  # 200 points
    loyalty.redeem(CID, "checkout-1", 150)
    loyalty.apply_order_event(refund("A-1", "R-1", "100.00"))  # takes back 200: 50 left, 150 owed

    assert balance_of(ANA) == -150 == ledger_sum(ANA)
    assert loyalty.summary(CID).to_json()["debt"] == 150
    with pytest.raises(OutstandingDebt):
        loyalty.redeem(CID, "checkout-2", 1)

    loyalty.apply_order_event(purchase("A-2", "200.00"))  # 200 points: 150 repay the debt first

    summary = loyalty.summary(CID).to_json()
    assert (summary["balance"], summary["debt"], summary["available"]) == (50, 0, 50)
    assert loyalty.redeem(CID, "checkout-2", 50).balance_after == 0


def test_redemption_spends_the_lots_that_expire_first(ana, frozen_clock) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))  # lot of 110, expires 2027-11-23
    frozen_clock.advance(timedelta(days=40))
    loyalty.apply_order_event(purchase("A-2", "50.00"))  # lot of 50, expires 2028-01-02

    loyalty.redeem(CID, "checkout-1", 120)

    lots = [(lot, points) for lot, points, _expires in entry("redeem#checkout-1").lots]
    assert lots == [("purchase#A-1", -110), ("purchase#A-2", -10)]
    assert loyalty.summary(CID).to_json()["next_expiry"] == {"on": "2028-01-02", "points": 40}


def test_a_short_balance_refuses_the_redemption_and_changes_nothing(ana) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))

    with pytest.raises(InsufficientPoints) as refused:
        loyalty.redeem(CID, "checkout-1", 111)

    assert refused.value.details == {"requested": 111, "available": 110}
    assert balance_of(ANA) == 110
    assert LedgerEntry.count(CID, LedgerEntry.entry_key.startswith("redeem#")) == 0
    loyalty.apply_order_event(purchase("A-2", "10.00"))
    assert loyalty.redeem(CID, "checkout-1", 111).replay is False  # a refusal left the key free


def test_an_idempotency_key_names_one_redemption(ana) -> None:
    loyalty.apply_order_event(purchase("A-1", "100.00"))
    first = loyalty.redeem(CID, "checkout-1", 60)
    again = loyalty.redeem(CID, "checkout-1", 60)

    assert (first.replay, again.replay, again.balance_after) == (False, True, 140)
    assert balance_of(ANA) == 140
    with pytest.raises(IdempotencyKeyReused):
        loyalty.redeem(CID, "checkout-1", 70)


@pytest.mark.parametrize(("key", "points"), [("", 10), ("has space", 10), ("k", 0), ("k", -5)])
def test_a_redemption_needs_a_key_and_positive_points(ana, key: str, points: int) -> None:
    with pytest.raises(ValidationFailed):
        loyalty.redeem(CID, key, points)


def test_the_tier_rises_at_once_and_the_next_purchase_earns_with_its_multiplier(ana) -> None:
    loyalty.apply_order_event(purchase("A-1", "500.00"))  # 500 qualifying: silver

    assert loyalty.summary(CID).to_json()["tier"] == "silver"
    assert entry("purchase#A-1").tier_to == "silver"
    loyalty.apply_order_event(purchase("A-2", "100.00"))
    assert int(entry("purchase#A-2").points) == 125  # 100 x 1.25


def test_birthday_bonus_is_granted_once_a_year_by_tier(ana, frozen_clock) -> None:
    assert loyalty.grant_birthday_bonus(CID, 2026) == 50
    assert loyalty.grant_birthday_bonus(CID, 2026) == 50  # the same answer, no second grant
    loyalty.apply_order_event(purchase("A-1", "600.00"))  # silver
    assert loyalty.grant_birthday_bonus(CID, 2027) == 100

    assert balance_of(ANA) == 50 + 700 + 100 == ledger_sum(ANA)
    assert entry("birthday#2026").rule_version == "2026-01"


def test_goodwill_is_granted_once_per_case_and_capped(ana) -> None:
    assert loyalty.grant_goodwill(CID, "CASE-9") == 200  # the rules' default
    assert loyalty.grant_goodwill(CID, "CASE-9", 500) == 200  # once per case
    assert loyalty.grant_goodwill(CID, "CASE-10", 300) == 300
    with pytest.raises(ValidationFailed):
        loyalty.grant_goodwill(CID, "CASE-11", 5000)
    assert balance_of(ANA) == 500
    assert LotMarker.get(CID, "lot#goodwill#CASE-9").expires_on == "2027-11-23"


def test_a_bonus_is_granted_once_per_source(ana) -> None:
    assert loyalty.grant_bonus(CID, "survey-2026", 75, "answered the survey") == 75
    assert loyalty.grant_bonus(CID, "survey-2026", 75, "answered the survey") == 75
    assert balance_of(ANA) == 75
    assert entry("bonus#survey-2026").reason == "answered the survey"


def test_points_are_never_granted_to_an_unknown_contact(stack, frozen_clock) -> None:
    with pytest.raises(NotFound):
        loyalty.grant_goodwill(contact_id_for("nobody@example.com"), "CASE-1", 10)
    with pytest.raises(NotFound):
        loyalty.redeem(contact_id_for("nobody@example.com"), "k", 10)
    with pytest.raises(NotFound):
        loyalty.apply_order_event(adjustment("evt-1", 10, email="nobody@example.com"))


def test_a_negative_adjustment_beyond_the_balance_becomes_a_debt(ana) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))
    loyalty.apply_order_event(adjustment("evt-1", -150))
    assert balance_of(ANA) == -40 == ledger_sum(ANA)


def test_an_account_that_keeps_changing_gives_up_with_a_retryable_error(ana) -> None:
    with (
        mock.patch.object(store, "commit", side_effect=store.WriteConflict("busy")) as commit,
        mock.patch.object(ledger, "pause") as pause,
        pytest.raises(RetryableError),
    ):
        loyalty.apply_order_event(purchase("A-1", "10.00"))
    assert balance_of(ANA) == 0
    assert commit.call_count == 10  # planned afresh and tried ten times, pausing after each conflict
    assert [c.args for c in pause.call_args_list] == [(n,) for n in range(10)]


def test_history_pages_newest_first_with_an_opaque_cursor(ana) -> None:
    for n in range(5):
        loyalty.apply_order_event(purchase(f"A-{n}", "10.00"))

    first = loyalty.history(CID, limit=2).to_json()
    second = loyalty.history(CID, limit=2, cursor=first["next_cursor"]).to_json()
    third = loyalty.history(CID, limit=2, cursor=second["next_cursor"]).to_json()

    ids = [e["id"] for page in (first, second, third) for e in page["entries"]]
    assert ids == [f"purchase#A-{n}" for n in (4, 3, 2, 1, 0)]
    assert third["next_cursor"] is None
    with pytest.raises(ValidationFailed):
        loyalty.history(CID, cursor="not-a-cursor")


def test_a_later_purchase_keeps_the_customer_since_date_so_the_anniversary_stays(ana, frozen_clock) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))
    first = Contact.get(CID)
    frozen_clock.advance(timedelta(days=40))

    loyalty.apply_order_event(purchase("A-2", "10.00", occurred_at=frozen_clock.now()))

    later = Contact.get(CID)
    assert (later.customer_since, later.anniversary_day) == ("2026-11-23", first.anniversary_day)
    started = frozen_clock.now() - timedelta(days=40)
    assert first.updated_at == later.updated_at == started  # nothing of the contact changed the second time


def test_a_refund_takes_back_the_qualifying_points_and_the_tier_falls_at_its_review(
    ana, frozen_clock
) -> None:
    loyalty.apply_order_event(purchase("A-1", "500.00"))  # 500 qualifying: silver
    loyalty.apply_order_event(refund("A-1", "R-1", "200.00"))

    summary = loyalty.summary(CID).to_json()
    assert (summary["tier"], summary["qualifying_points"], summary["lifetime_points"]) == ("silver", 300, 360)
    assert int(entry("refund#R-1").qualifying_points) == -200
    order = OrderRecord.get(CID, "order#A-1")
    assert (int(order.refunded_points), int(order.refunded_qualifying)) == (240, 200)

    frozen_clock.advance(timedelta(days=366))  # a tier falls no sooner than a year after it rose
    loyalty.apply_order_event(purchase("A-2", "10.00", occurred_at=frozen_clock.now()))
    assert loyalty.summary(CID).to_json()["tier"] == "bronze"  # 300 + 10 qualifying: not silver any more
    assert Contact.get(CID).tier == "bronze"


def test_a_refund_draws_first_from_the_lot_its_order_earned(ana, frozen_clock) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))  # lot of 110, the oldest
    frozen_clock.advance(timedelta(days=40))
    loyalty.apply_order_event(purchase("A-2", "50.00", occurred_at=frozen_clock.now()))  # lot of 50

    loyalty.apply_order_event(refund("A-2", "R-1", "50.00"))

    lots = [(lot, points) for lot, points, _expires in entry("refund#R-1").lots]
    assert lots == [("purchase#A-2", -50)]
    assert loyalty.summary(CID).to_json()["next_expiry"] == {"on": "2027-11-23", "points": 110}


def test_a_refund_in_another_currency_than_the_order_is_refused_and_changes_nothing(ana) -> None:
    loyalty.apply_order_event(purchase("A-1", "100.00"))

    with pytest.raises(ValidationFailed) as refused:
        loyalty.apply_order_event(refund("A-1", "R-1", "100.00", currency="USD"))

    assert refused.value.errors[0].field == "currency"
    assert balance_of(ANA) == 200
    assert LedgerEntry.count(CID, LedgerEntry.entry_key.startswith("refund#")) == 0


def test_a_purchase_for_an_unknown_contact_id_without_an_email_is_refused(stack, frozen_clock) -> None:
    stranger = contact_id_for("nobody@example.com")

    with pytest.raises(NotFound):
        loyalty.apply_order_event(replace(purchase("A-1", "10.00"), email=None, contact_id=stranger))

    assert LedgerEntry.count(stranger) == 0
    with pytest.raises(Contact.DoesNotExist):
        Contact.get(stranger)


def test_a_purchase_for_a_known_contact_id_without_an_email_earns(ana) -> None:
    loyalty.apply_order_event(replace(purchase("A-1", "10.00"), email=None, contact_id=CID))
    assert balance_of(ANA) == 110
    assert Contact.get(CID).email == ANA


def test_a_debt_of_one_point_blocks_redemption(ana) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))  # 110 points
    loyalty.redeem(CID, "checkout-1", 100)
    loyalty.apply_order_event(adjustment("evt-1", -11))  # 10 left, 1 owed

    with pytest.raises(OutstandingDebt):
        loyalty.redeem(CID, "checkout-2", 1)
    assert balance_of(ANA) == -1


def test_each_entry_is_ordered_by_the_balance_version_it_wrote(ana) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))
    loyalty.apply_order_event(purchase("A-2", "10.00"))
    loyalty.redeem(CID, "checkout-1", 20)

    keys = [entry(key).history_key for key in ("purchase#A-1", "purchase#A-2", "redeem#checkout-1")]
    assert keys == ["000000000001", "000000000002", "000000000003"]
    account = store.load_account(CID)
    assert (account.version, account.purchases) == (3, 2)


def test_an_adjustment_of_one_point_is_granted_as_a_lot(ana) -> None:
    loyalty.apply_order_event(adjustment("evt-1", 1))

    assert balance_of(ANA) == 1
    assert LotMarker.get(CID, "lot#adjust#evt-1").expires_on == "2027-11-23"


def test_a_negative_adjustment_lowers_the_lifetime_points(ana) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))
    loyalty.apply_order_event(adjustment("evt-1", -10))
    assert loyalty.summary(CID).to_json()["lifetime_points"] == 100


def test_goodwill_of_zero_points_grants_nothing_and_the_maximum_is_allowed(ana) -> None:
    assert loyalty.grant_goodwill(CID, "CASE-1", 0) == 0
    assert loyalty.grant_bonus(CID, "survey-1", 0, "answered") == 0
    assert LedgerEntry.count(CID) == 0
    assert loyalty.grant_goodwill(CID, "CASE-2", 2000) == 2000
    with pytest.raises(ValidationFailed):
        loyalty.grant_goodwill(CID, "CASE-3", -1)
    assert balance_of(ANA) == 2000


@pytest.mark.parametrize("key", ["!", "~", "k" * 128, " checkout-1 "])
def test_an_idempotency_key_may_be_any_printable_ascii_up_to_128_characters(ana, key: str) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))
    assert loyalty.redeem(CID, key, 10).entry_key == f"redeem#{key.strip()}"


@pytest.mark.parametrize(("key", "points"), [("k" * 129, 10), ("a\x7fb", 10), ("k", True)])
def test_a_key_too_long_or_not_printable_and_points_that_are_not_a_number_are_refused(
    ana, key: str, points: int
) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))
    with pytest.raises(ValidationFailed):
        loyalty.redeem(CID, key, points)


def test_a_purchase_another_worker_recorded_between_our_read_and_write_is_a_replay(ana, metrics) -> None:
    real_snapshot = store.snapshot
    calls = {"n": 0}

    def racing_snapshot(*args: Any, **kwargs: Any) -> store.Snapshot:
        read = real_snapshot(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:  # the same order event, delivered twice, is applied by another worker now
            ledger.purchase(CID, purchase("A-1", "10.00"))
        return read

    with mock.patch.object(store, "snapshot", side_effect=racing_snapshot):
        applied = ledger.purchase(CID, purchase("A-1", "10.00"))

    assert (applied.replay, applied.points) == (True, 110)
    assert balance_of(ANA) == 110 == ledger_sum(ANA)
    assert metrics() == {"LoyaltyEntries": 1, "LoyaltyReplays": 1}


def test_movements_replays_and_conflicts_are_counted(ana, metrics) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))
    loyalty.apply_order_event(purchase("A-1", "10.00"))
    real_commit = store.commit
    conflicts = [store.WriteConflict("another writer got in first")]

    def conflict_once(*args: Any, **kwargs: Any) -> Any:
        if conflicts:
            raise conflicts.pop()
        return real_commit(*args, **kwargs)

    with mock.patch.object(store, "commit", side_effect=conflict_once), mock.patch.object(ledger, "pause"):
        loyalty.redeem(CID, "checkout-1", 10)

    counts = metrics()
    assert (counts["LoyaltyEntries"], counts["LoyaltyReplays"], counts["LoyaltyWriteConflicts"]) == (2, 1, 1)


def test_a_purchase_entry_records_the_order_event_it_came_from(ana) -> None:
    loyalty.apply_order_event(purchase("A-1", "500.00"))  # the first purchase: +100 bonus, and silver
    loyalty.apply_order_event(purchase("A-2", "8.00"))

    first, second = entry("purchase#A-1"), entry("purchase#A-2")
    assert (first.order_id, first.event_id, first.amount, first.currency) == (
        "A-1",
        "evt-A-1",
        "500.00",
        "EUR",
    )
    assert (first.occurred_at, int(first.bonus_points), int(first.qualifying_points)) == (
        "2026-11-23T09:00:00+00:00",
        100,
        500,
    )
    assert (first.tier_from, first.tier_to) == ("bronze", "silver")
    assert (second.bonus_points, second.tier_from, second.tier_to, int(second.points)) == (
        None,
        None,
        None,
        10,
    )


def test_a_purchase_from_a_new_email_creates_the_contact_as_of_now(stack, frozen_clock) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00", email="new@example.com"))

    created = Contact.get(contact_id_for("new@example.com"))
    assert (created.email, created.customer_since, created.tier) == (
        "new@example.com",
        "2026-11-23",
        "bronze",
    )
    assert created.created_at == created.updated_at == frozen_clock.now()


def test_a_refund_before_its_purchase_is_retried_later(ana) -> None:
    with pytest.raises(RetryableError):
        loyalty.apply_order_event(refund("A-1", "R-1", "10.00"))
    loyalty.apply_order_event(purchase("A-1", "10.00"))
    loyalty.apply_order_event(refund("A-1", "R-1", "10.00"))
    assert balance_of(ANA) == 0


def test_a_purchase_after_the_tier_lapsed_earns_at_the_tier_the_contact_has_now(ana, frozen_clock) -> None:
    loyalty.apply_order_event(purchase("A-1", "500.00"))  # silver, on 2026-11-23
    frozen_clock.advance(timedelta(days=400))  # the qualifying months are gone, and a year has passed

    loyalty.apply_order_event(purchase("A-2", "100.00", occurred_at=frozen_clock.now()))

    assert int(entry("purchase#A-2").points) == 100  # bronze: x 1, not silver's x 1.25
    assert loyalty.summary(CID).to_json()["tier"] == "bronze"


def test_a_refund_entry_records_its_event_and_the_tier_it_lowered(ana, frozen_clock) -> None:
    loyalty.apply_order_event(purchase("A-1", "500.00"))  # silver
    frozen_clock.advance(timedelta(days=400))  # a year on, the qualifying months are gone

    loyalty.apply_order_event(refund("A-1", "R-1", "100.00"))

    refunded = entry("refund#R-1")
    assert (refunded.order_id, refunded.refund_id, refunded.event_id) == ("A-1", "R-1", "evt-R-1")
    assert (refunded.amount, refunded.currency, refunded.occurred_at) == (
        "100.00",
        "EUR",
        "2026-11-23T09:00:00+00:00",
    )
    assert (refunded.tier_from, refunded.tier_to) == ("silver", "bronze")
    assert Contact.get(CID).tier == "bronze"  # the contact's copy, read by complaint routing


def test_a_first_movement_that_is_a_correction_or_a_grant_puts_the_contact_in_the_base_tier(ana) -> None:
    loyalty.apply_order_event(adjustment("evt-1", -5))
    assert (Contact.get(CID).tier, entry("adjust#evt-1").event_id) == ("bronze", "evt-1")
    assert loyalty.summary(CID).to_json()["debt"] == 5

    other = contact_id_for("bo@example.com")
    Contact(other, email="bo@example.com", created_at=Contact.get(CID).created_at).save()
    loyalty.grant_bonus(other, "survey-1", 10, "answered")
    assert Contact.get(other).tier == "bronze"


def test_a_correction_records_its_event_and_order(ana) -> None:
    loyalty.apply_order_event(adjustment("evt-1", 5))
    event = replace(adjustment("evt-2", -3), order_id="A-1")
    loyalty.apply_order_event(event)

    assert entry("adjust#evt-1").event_id == "evt-1"
    assert (entry("adjust#evt-2").event_id, entry("adjust#evt-2").order_id) == ("evt-2", "A-1")


def test_a_negative_correction_for_an_unknown_contact_is_refused(stack, frozen_clock) -> None:
    with pytest.raises(NotFound):
        loyalty.apply_order_event(adjustment("evt-1", -10, email="nobody@example.com"))
    assert LedgerEntry.count(contact_id_for("nobody@example.com")) == 0


def test_a_bonus_of_negative_points_is_refused(ana) -> None:
    with pytest.raises(ValidationFailed):
        loyalty.grant_bonus(CID, "survey-1", -5, "answered")
    assert LedgerEntry.count(CID) == 0


def test_expiring_a_lot_takes_it_out_of_the_expiry_index_even_when_asked_twice(ana) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))  # a lot of 110
    marker = LotMarker.get(CID, "lot#purchase#A-1")

    assert ledger.expire_lot(CID, "purchase#A-1") == 110
    with pytest.raises(LotMarker.DoesNotExist):
        LotMarker.get(CID, "lot#purchase#A-1")  # gone in the same write as the points
    marker.save()  # a run that crashed before it saw the answer finds the lot in the index again
    assert ledger.expire_lot(CID, "purchase#A-1") == 0
    with pytest.raises(LotMarker.DoesNotExist):
        LotMarker.get(CID, "lot#purchase#A-1")
    assert balance_of(ANA) == 0


def test_a_spent_lot_expires_nothing_and_leaves_the_index(ana) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))
    loyalty.redeem(CID, "checkout-1", 110)

    assert ledger.expire_lot(CID, "purchase#A-1") == 0
    with pytest.raises(LotMarker.DoesNotExist):
        LotMarker.get(CID, "lot#purchase#A-1")


def test_a_redemption_records_the_order_it_paid_for(ana) -> None:
    loyalty.apply_order_event(purchase("A-1", "10.00"))
    loyalty.redeem(CID, "checkout-1", 10, order_id="B-7")
    assert entry("redeem#checkout-1").order_id == "B-7"


def test_rules_without_a_birthday_bonus_grant_none(ana, rules_dir) -> None:
    add_version(
        rules_dir,
        "2026-11",
        "2026-11-01",
        birthday_bonus={t: 0 for t in ("bronze", "silver", "gold", "platinum")},
    )
    assert loyalty.grant_birthday_bonus(CID, 2026) == 0
    assert LedgerEntry.count(CID) == 0


def test_a_first_purchase_earning_exactly_the_minimum_counts_and_one_earning_nothing_does_not(ana) -> None:
    loyalty.apply_order_event(purchase("A-0", "0.99"))  # 0 points: not a purchase for the bonus
    assert balance_of(ANA) == 0
    loyalty.apply_order_event(purchase("A-1", "1.00"))  # exactly first_purchase_minimum_points (1)
    assert balance_of(ANA) == 1 + 100  # the first purchase that counts gets the bonus
    loyalty.apply_order_event(purchase("A-2", "1.00"))
    assert balance_of(ANA) == 102  # once


@pytest.mark.parametrize(("amount", "currency"), [("20.00", "EUR"), ("10.00", "USD")])
def test_a_refund_id_replayed_with_other_content_is_a_conflict_and_changes_nothing(
    ana, amount: str, currency: str
) -> None:
    from crm_core.loyalty.errors import EventConflict

    loyalty.apply_order_event(purchase("A-1", "100.00"))
    loyalty.apply_order_event(refund("A-1", "R-1", "10.00"))
    before = balance_of(ANA)

    # The shop sent the same refund id again under a new event id (so the event-id check passes):
    # the ledger itself refuses a refund recorded with other content.
    other = replace(refund("A-1", "R-1", amount, currency=currency), event_id="evt-R-1-again")
    with pytest.raises(EventConflict, match="refund R-1 was recorded"):
        loyalty.apply_order_event(other)
    assert balance_of(ANA) == before
    loyalty.apply_order_event(refund("A-1", "R-1", "10.00"))  # the same refund again: a replay
    assert balance_of(ANA) == before
