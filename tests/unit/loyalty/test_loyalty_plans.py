"""What each movement of points plans, from a snapshot and an instant: no DynamoDB, no clock.

The plans of `crm_core.loyalty.ledger` are pure: these tests chain them in memory (a purchase, then
its refunds, a redemption, an expiry) the way the ledger chains reads and transactions.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from decimal import Decimal

import pytest

from crm_core.errors import NotFound, RetryableError, ValidationFailed
from crm_core.loyalty.account import Account, Lot
from crm_core.loyalty.errors import InsufficientPoints, OutstandingDebt
from crm_core.loyalty.events import Purchase
from crm_core.loyalty.ledger import (
    Grant,
    Redemption,
    plan_adjustment,
    plan_expiry,
    plan_grant,
    plan_purchase,
    plan_redemption,
    plan_refund,
)
from crm_core.loyalty.store import Change, Snapshot
from crm_core.models import Contact, contact_id_for
from tests.loyalty_data import ANA, WHEN, adjustment, purchase, refund

CID = contact_id_for(ANA)
DAY = WHEN.date()


def ana(**fields: object) -> Contact:
    return Contact(CID, email=ANA, created_at=WHEN, **fields)


def after(change: Change, read: Snapshot | None = None, *, contact: Contact | None = None) -> Snapshot:
    """What the next movement reads once `change` is written over what `read` held (the balance's
    version bumped; the contact and the order as the change left them)."""
    account = copy.deepcopy(change.account)
    account.version = (account.version or 0) + 1
    return Snapshot(
        account=account,
        contact=contact or change.new_contact or (read.contact if read else None),
        entry=None,
        order=change.order or (read.order if read else None),
    )


def bought(amount: str = "49.90") -> Change:
    """Ana's first purchase, order A-1, from an unknown email."""
    return plan_purchase(purchase("A-1", amount), Snapshot(Account(CID), contact=None, entry=None), WHEN)


# ---- purchases ---------------------------------------------------------------------------------
def test_a_first_purchase_from_an_unknown_email_earns_its_points_the_bonus_and_creates_the_contact() -> None:
    read = Snapshot(Account(CID), contact=None, entry=None)

    change = plan_purchase(purchase("A-1", "49.90", email=" Ana@Example.com "), read, WHEN)

    entry = change.entry
    assert (entry.entry_key, entry.kind, int(entry.points), int(entry.bonus_points)) == (
        "purchase#A-1",
        "purchase",
        149,
        100,
    )
    assert (int(entry.qualifying_points), int(entry.balance_after), entry.history_key) == (
        49,
        149,
        "000000000001",
    )
    assert (entry.amount, entry.currency, entry.rule_version, entry.tier_to) == (
        "49.90",
        "EUR",
        "2026-01",
        None,
    )
    assert entry.lots == [["purchase#A-1", 149, "2027-11-23"]]
    assert change.account.lots == [Lot("purchase#A-1", 149, DAY, date(2027, 11, 23))]
    assert (change.account.tier, change.account.purchases, change.account.earned) == (
        "bronze",
        1,
        {"2026-11": 49},
    )
    assert change.order is not None
    assert (int(change.order.points), int(change.order.qualifying_points), change.order.month) == (
        149,
        49,
        "2026-11",
    )
    assert change.new_lot is not None and change.new_lot.expires_on == "2027-11-23"
    assert change.new_contact is not None
    assert (change.new_contact.email, change.new_contact.customer_since, change.new_contact.tier) == (
        "ana@example.com",
        "2026-11-23",
        "bronze",
    )
    assert change.contact_update is None
    assert read.account == Account(CID)  # planning never touches what was read


def test_a_purchase_for_an_unknown_contact_id_is_not_found() -> None:
    event = Purchase(
        type="purchase",
        event_id="evt-A-1",
        order_id="A-1",
        contact_id=CID,
        amount=Decimal("10.00"),
        currency="EUR",
        occurred_at=WHEN,
    )
    with pytest.raises(NotFound):
        plan_purchase(event, Snapshot(Account(CID), contact=None, entry=None), WHEN)


def test_a_currency_without_points_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        plan_purchase(purchase("A-1", "10", currency="JPY"), Snapshot(Account(CID), ana(), None), WHEN)


def test_a_later_purchase_earns_no_bonus_and_the_tier_it_reaches_is_recorded_and_told() -> None:
    account = Account(
        CID, balance=480, lots=[Lot("purchase#A-0", 480, DAY, date(2027, 11, 23))], earned={"2026-11": 480}
    )
    account.tier, account.tier_since, account.purchases, account.version = "bronze", DAY, 1, 3

    change = plan_purchase(purchase("A-1", "30.00"), Snapshot(account, ana(tier="bronze"), None), WHEN)

    assert (int(change.entry.points), change.entry.bonus_points) == (30, None)
    assert (change.entry.tier_from, change.entry.tier_to, change.entry.history_key) == (
        "bronze",
        "silver",
        "000000000004",
    )
    assert change.account.notice is not None and change.account.notice.upgrade
    assert (change.account.tier, change.account.purchases, change.account.review_on) == ("silver", 2, DAY)
    assert change.new_contact is None
    assert change.contact_update is not None  # the contact's copy of the tier follows


def test_a_customer_is_one_since_the_purchase_day_or_today_if_it_is_dated_later() -> None:
    nobody = Snapshot(Account(CID), contact=None, entry=None)

    earlier = plan_purchase(purchase("A-1", "10.00", occurred_at=WHEN - timedelta(days=3)), nobody, WHEN)
    later = plan_purchase(purchase("A-1", "10.00", occurred_at=WHEN + timedelta(days=3)), nobody, WHEN)

    assert earlier.new_contact is not None and earlier.new_contact.customer_since == "2026-11-20"
    assert later.new_contact is not None and later.new_contact.customer_since == "2026-11-23"


def test_a_known_contact_gets_its_customer_since_and_tier_by_update() -> None:
    change = plan_purchase(purchase("A-1", "10.00"), Snapshot(Account(CID), ana(), None), WHEN)

    assert change.new_contact is None
    assert change.contact_update is not None
    contact, actions = change.contact_update
    assert contact.contact_id == CID and len(actions) == 4  # customer since, anniversary key, tier, updated


# ---- refunds -----------------------------------------------------------------------------------
def test_refunds_take_back_their_share_from_the_order_lot_with_the_figures_that_earned_it() -> None:
    read = after(bought())
    first = plan_refund(refund("A-1", "R-1", "24.95"), read, WHEN)

    assert (int(first.entry.points), int(first.entry.qualifying_points)) == (-74, -24)  # half of 149 and 49
    assert first.entry.rule_version == "2026-01"
    assert first.entry.lots == [["purchase#A-1", -74, "2027-11-23"]]
    assert first.order is not None
    assert (first.order.refunded_amount, int(first.order.refunded_points)) == ("24.95", 74)
    assert first.account.earned == {"2026-11": 25}

    rest = plan_refund(refund("A-1", "R-2", "24.95"), after(first, read), WHEN)

    assert int(rest.entry.points) == -75  # rounding never takes back more than the order earned
    assert (rest.account.balance, rest.account.lots, rest.account.earned) == (0, [], {})


def test_a_refund_of_points_already_spent_becomes_a_debt() -> None:
    read = after(bought())
    spent = plan_redemption(Redemption("checkout-1", 100), read, WHEN)

    change = plan_refund(refund("A-1", "R-1", "49.90"), after(spent, read), WHEN)

    assert int(change.entry.points) == -149
    assert (change.account.balance, change.account.debt, change.account.lots) == (-100, 100, [])


def test_a_refund_before_its_purchase_waits_and_one_in_another_currency_is_refused() -> None:
    with pytest.raises(RetryableError):
        plan_refund(refund("A-1", "R-1", "10.00"), Snapshot(Account(CID), ana(), None), WHEN)
    with pytest.raises(ValidationFailed) as refused:
        plan_refund(refund("A-1", "R-1", "10.00", currency="USD"), after(bought()), WHEN)
    assert refused.value.errors[0].field == "currency"


# ---- redemptions -------------------------------------------------------------------------------
def test_a_redemption_spends_the_lots_that_expire_first_on_condition_the_balance_covers_it() -> None:
    account = Account(
        CID,
        balance=150,
        lots=[
            Lot("early", 50, date(2026, 1, 1), date(2027, 1, 1)),
            Lot("late", 100, DAY, date(2027, 11, 23)),
        ],
        version=7,
    )

    change = plan_redemption(
        Redemption("checkout-1", 70, order_id="B-9"), Snapshot(account, ana(), None), WHEN
    )

    assert (change.entry.entry_key, int(change.entry.points), change.entry.order_id) == (
        "redeem#checkout-1",
        -70,
        "B-9",
    )
    assert change.entry.lots == [["early", -50, "2027-01-01"], ["late", -20, "2027-11-23"]]
    assert change.balance_condition is not None
    assert [(lot.id, lot.points) for lot in change.account.lots] == [("late", 80)]


def test_a_redemption_is_refused_when_short_in_debt_or_for_nobody() -> None:
    with pytest.raises(InsufficientPoints):
        plan_redemption(Redemption("k", 150), after(bought()), WHEN)
    with pytest.raises(OutstandingDebt):
        plan_redemption(Redemption("k", 1), Snapshot(Account(CID, balance=-5, version=2), ana(), None), WHEN)
    with pytest.raises(NotFound):
        plan_redemption(Redemption("k", 1), Snapshot(Account(CID), None, None), WHEN)


# ---- adjustments and grants --------------------------------------------------------------------
def test_a_negative_adjustment_beyond_the_balance_becomes_a_debt() -> None:
    change = plan_adjustment(adjustment("evt-9", -150), after(bought(), contact=ana()), WHEN)

    assert (change.entry.entry_key, int(change.entry.points), change.entry.reason) == (
        "adjust#evt-9",
        -150,
        "correction",
    )
    assert (change.account.balance, change.account.debt) == (-1, 1)


def test_adjustments_and_grants_need_a_contact() -> None:
    nobody = Snapshot(Account(CID), None, None)
    with pytest.raises(NotFound):
        plan_adjustment(adjustment("evt-9", -1), nobody, WHEN)
    with pytest.raises(NotFound):
        plan_grant(Grant("bonus#survey-1", "bonus", 10, "thanks"), nobody, WHEN)


def test_a_grant_repays_a_debt_before_it_makes_a_lot_and_zero_points_write_nothing() -> None:
    owing = Snapshot(Account(CID, balance=-30, version=4), ana(), None)

    change = plan_grant(Grant("birthday#2026", "birthday", 50, "birthday 2026"), owing, WHEN)

    assert change is not None
    assert (change.entry.kind, int(change.entry.points), change.account.balance) == ("birthday", 50, 20)
    assert change.account.lots == [Lot("birthday#2026", 20, DAY, date(2027, 11, 23))]
    assert change.new_lot is not None and change.new_lot.entry_key == "lot#birthday#2026"
    assert plan_grant(Grant("bonus#x", "bonus", 0, None), owing, WHEN) is None


# ---- expiry ------------------------------------------------------------------------------------
def test_expiring_a_lot_takes_what_is_left_of_it_and_its_marker_and_a_spent_lot_plans_nothing() -> None:
    read = after(bought())
    spent = plan_redemption(Redemption("checkout-1", 100), read, WHEN)
    later = WHEN + timedelta(days=365)

    change = plan_expiry("purchase#A-1", after(spent, read), later)

    assert change is not None
    assert (change.entry.entry_key, int(change.entry.points), change.account.balance) == (
        "expiry#purchase#A-1",
        -49,
        0,
    )
    assert change.spent_lot is not None and change.spent_lot.entry_key == "lot#purchase#A-1"
    assert plan_expiry("purchase#A-1", after(change), later) is None
