"""Which stage a contact is in, from what its item says and the rules: pure, no I/O.

Stages are tried in order, the first that holds wins: dissolution, commitment, expansion, awareness,
exploration. Each verdict names its reason and the next date on which time alone may change it
(the daily run's sparse index), so nothing is recomputed for contacts whose stage cannot move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from crm_core.lifecycle.rules import Rules
from crm_core.value import figures


@dataclass(frozen=True, slots=True)
class Verdict:
    """A contact's stage, why, since when, and the next day time alone may change it."""

    stage: str
    reason: str
    since: datetime  # when the rule started to hold (a silence's end, not the day a run noticed)
    review_on: date | None  # next day on which time alone may change the stage or the value


def silence_limit_days(state: dict[str, Any], rules: Rules) -> int:
    """How long a customer may go without buying before dissolution (docs/lifecycle.md)."""
    rule = rules.dissolution
    interval = figures.usual_interval_days(state)
    if interval is None:
        return rule.max_silence_days
    usual = round(interval * rule.usual_interval_factor)
    return min(rule.max_silence_days, max(rule.min_silence_days, usual))


def _next_month(now: datetime) -> date:
    return date(now.year + now.month // 12, now.month % 12 + 1, 1)


def evaluate(contact: dict[str, Any], now: datetime, rules: Rules) -> Verdict:
    """The stage `contact` (a plain contact item) is in at `now`."""
    state = (contact.get("value") or {}).get("state") or figures.empty_state()
    signals = (contact.get("lifecycle") or {}).get("signals") or {}
    reviews: list[date] = []
    if int(state.get("orders") or 0) and state.get("months"):
        reviews.append(_next_month(now))  # the 12-month window moves: figures and commitment may change
    found = _dissolution(contact, state, signals, now, rules, reviews)
    if found is None:
        found = (*_stage_by_activity(contact, state, signals, now, rules), now)
    stage, reason, since = found
    return Verdict(stage, reason, since, min(reviews) if reviews else None)


def _stage_by_activity(
    contact: dict[str, Any], state: dict[str, Any], signals: dict[str, Any], now: datetime, rules: Rules
) -> tuple[str, str]:
    """(stage, reason) of a contact no dissolution rule holds for: commitment, expansion, awareness,
    exploration, the first that holds."""
    orders = int(state.get("orders") or 0)
    committed = _commitment(contact, state, now, rules) if orders else None
    if committed is not None:
        return "commitment", committed
    if orders >= rules.expansion.purchases:
        return "expansion", "first purchase" if orders == 1 else f"{orders} purchases"
    engagements = int(signals.get("engagements") or 0)
    if engagements >= rules.awareness.engagements:
        return "awareness", f"{engagements} engagement(s): {signals.get('last_engagement', 'reply')}"
    return "exploration", "lead without purchase"


def _commitment(contact: dict[str, Any], state: dict[str, Any], now: datetime, rules: Rules) -> str | None:
    """Why a customer is committed (enough purchases in the window, or a loyalty tier), or None."""
    commitment = rules.commitment
    oldest_month = figures.window_start(now, commitment.window_months)
    recent = sum(int(v["n"]) for k, v in (state.get("months") or {}).items() if k >= oldest_month)
    if recent >= commitment.purchases_in_window:
        return f"{recent} purchases in {commitment.window_months} months"
    tier = (contact.get("tier") or "").lower()
    if tier in {t.lower() for t in commitment.tiers}:
        return f"loyalty tier {tier}"
    return None


def _dissolution(  # noqa: PLR0917 - one private step of evaluate, called once
    contact: dict[str, Any],
    state: dict[str, Any],
    signals: dict[str, Any],
    now: datetime,
    rules: Rules,
    reviews: list[date],
) -> tuple[str, str, datetime] | None:
    """(stage, reason, since) when a dissolution rule holds; adds the days one may start to `reviews`."""
    rule = rules.dissolution
    if rule.unsubscribed and contact.get("marketing_opt_out"):
        return "dissolution", "unsubscribed", now
    complaints = signals.get("open_complaints") or {}
    if complaints and rule.complaint_unresolved_days is not None:
        due = min(datetime.fromisoformat(at) for at in complaints.values())
        due += timedelta(days=rule.complaint_unresolved_days)
        if now >= due:
            return "dissolution", f"complaint unresolved for {rule.complaint_unresolved_days} days", due
        reviews.append(due.date())
    if int(state.get("orders") or 0) and state.get("last_order"):
        limit = silence_limit_days(state, rules)
        due = datetime.fromisoformat(state["last_order"]) + timedelta(days=limit)
        if now >= due:
            return "dissolution", f"no purchase for {limit} days", due
        reviews.append(due.date())
    return None
