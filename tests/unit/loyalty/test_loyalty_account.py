"""The arithmetic of an account, without AWS: lots, debts, months, tiers."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.loyalty.account import (
    Account,
    add_months,
    credit,
    debit,
    evaluate_tier,
    expire,
    record_qualifying,
    schedule_review,
    window_months,
)
from crm_core.loyalty.rules import rulebook

RULES = rulebook().current(date(2026, 11, 23))
DAY = date(2026, 11, 23)


def test_months_are_added_with_the_end_of_the_month_in_mind() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert add_months(date(2026, 11, 23), 12) == date(2027, 11, 23)
    assert add_months(date(2026, 3, 15), -3) == date(2025, 12, 15)


def test_the_rolling_window_is_this_month_and_the_eleven_before() -> None:
    window = window_months(date(2026, 11, 23))
    assert len(window) == 12
    assert "2026-11" in window and "2025-12" in window and "2025-11" not in window


def test_spending_takes_the_lots_that_expire_first() -> None:
    account = Account("c")
    credit(account, 100, "late", today=date(2026, 6, 1), lifetime_months=12)
    credit(account, 50, "early", today=date(2026, 1, 1), lifetime_months=12)

    taken = debit(account, 70, allow_debt=False)

    assert taken == {"early": -50, "late": -20}
    assert [(lot.id, lot.points) for lot in account.lots] == [("late", 80)]


def test_a_reversal_takes_its_own_lot_first_then_the_oldest_then_owes_the_rest() -> None:
    account = Account("c")
    credit(account, 30, "old", today=date(2026, 1, 1), lifetime_months=12)
    credit(account, 40, "order", today=date(2026, 5, 1), lifetime_months=12)

    taken = debit(account, 100, first_from="order", allow_debt=True)

    assert taken == {"order": -40, "old": -30}
    assert (account.balance, account.debt, account.lots) == (-30, 30, [])


def test_new_points_repay_a_debt_before_they_fill_a_lot() -> None:
    account = Account("c", balance=-30)
    assert credit(account, 20, "a", today=DAY, lifetime_months=12) == {}
    assert account.debt == 10
    assert credit(account, 25, "b", today=DAY, lifetime_months=12) == {"b": 15}
    assert (account.balance, account.debt, account.lots[0].points) == (15, 0, 15)


def test_a_tier_goes_up_at_once_but_down_only_a_year_after_the_last_change() -> None:
    account = Account("c")
    record_qualifying(account, "2026-11", 600, today=DAY)
    up = evaluate_tier(account, RULES, DAY)
    assert up is not None and (up.tier, up.previous, up.upgrade) == ("silver", "bronze", True)

    account.earned = {}
    assert evaluate_tier(account, RULES, date(2027, 11, 22)) is None
    down = evaluate_tier(account, RULES, date(2027, 11, 23))
    assert down is not None and (down.tier, down.upgrade) == ("bronze", False)
    assert account.tier_since == date(2027, 11, 23)


def test_a_review_is_due_on_the_anniversary_then_monthly_and_never_for_the_base_tier() -> None:
    account = Account("c", tier="silver", tier_since=DAY)
    schedule_review(account, RULES, DAY, reviewed=True)
    assert account.review_on == date(2027, 11, 23)
    schedule_review(account, RULES, date(2027, 11, 23), reviewed=True)
    assert account.review_on == date(2027, 12, 1)
    account.tier = "bronze"
    schedule_review(account, RULES, DAY, reviewed=True)
    assert account.review_on is None


movements = st.lists(
    st.one_of(
        st.tuples(st.just("credit"), st.integers(0, 500), st.integers(0, 400)),
        st.tuples(st.just("spend"), st.integers(0, 500), st.integers(0, 400)),
        st.tuples(st.just("reverse"), st.integers(0, 500), st.integers(0, 400)),
        st.tuples(st.just("expire"), st.integers(0, 20), st.integers(0, 400)),
    ),
    max_size=40,
)


@settings(max_examples=300)
@given(movements)
def test_lots_and_debt_always_add_up_to_the_balance(steps: list[tuple[str, int, int]]) -> None:
    account, total = Account("c"), 0
    for n, (kind, amount, day) in enumerate(steps):
        today = date.fromordinal(DAY.toordinal() + day)
        if kind == "credit":
            credit(account, amount, f"lot{n}", today=today, lifetime_months=12)
            total += amount
        elif kind == "spend" and amount <= account.available:
            debit(account, amount, allow_debt=False)
            total -= amount
        elif kind == "reverse":
            debit(account, amount, first_from=f"lot{n - 1}", allow_debt=True)
            total -= amount
        elif kind == "expire" and account.lots:
            total -= expire(account, account.lots[amount % len(account.lots)].id)
        assert account.balance == total
        assert account.balance == sum(lot.points for lot in account.lots) - account.debt
        assert all(lot.points > 0 for lot in account.lots)
        assert not (account.debt and account.lots)
        assert account.lots == sorted(account.lots, key=lambda lot: (lot.expires_on, lot.earned_on))
