"""The daily run: expire the lots due, remind contacts of points about to expire, review tiers.

Everything is found through sparse indexes by day (`lots-by-expiry`, `tier-reviews`), shard by
shard: the run reads what concerns today, never the whole table. It also re-reads the last
LOYALTY_CATCH_UP_DAYS days, so a missed run is caught up the next day; every step is idempotent
(expiry entries are keyed by their lot, reminders are claimed once per lot in the message ledger).
A step that fails is logged and counted and the run goes on; the run then raises RetryableError so
Lambda retries it (the retry redoes only what is left).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from crm_core import clock
from crm_core.errors import RetryableError
from crm_core.loyalty import ledger, notices, store
from crm_core.loyalty.account import evaluate_tier, schedule_review
from crm_core.loyalty.rules import rulebook
from crm_core.messaging import Outcome
from crm_core.models.loyalty import DAY_SHARDS, LotMarker, LoyaltyBalance
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings


@dataclass
class DailyReport:
    """What one daily loyalty run did: lots expired, reminders, tier reviews and failures."""

    day: str
    expired_lots: int = 0
    expired_points: int = 0
    reminders: int = 0
    reviews: int = 0
    tier_changes: int = 0
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-ready data (crm_core.observability.Report)."""
        return asdict(self)

    def failed(self, what: str, exc: Exception) -> None:
        """Note a step that failed: it is logged and counted, and the run goes on."""
        self.failures.append(what)
        count("LoyaltyDailyFailures")
        get_logger().warning("daily loyalty step failed", extra={"step": what, "error": repr(exc)})


def _days(last: date, how_many: int) -> list[date]:
    return [last - timedelta(days=back) for back in range(how_many, -1, -1)]


def _markers(day: date) -> list[LotMarker]:
    found: list[LotMarker] = []
    for shard in range(DAY_SHARDS):
        found += LotMarker.expiry_index.query(f"{day.isoformat()}#{shard}")
    return found


def _reviews(day: date) -> list[str]:
    found: list[str] = []
    for shard in range(DAY_SHARDS):
        found += [item.contact_id for item in LoyaltyBalance.review_index.query(f"{day.isoformat()}#{shard}")]
    return found


def run_daily() -> DailyReport:
    """Run today's expiry, reminders and tier reviews; returns what was done.
    Raises RetryableError after the run when any step failed (nothing done is undone)."""
    settings = get_settings()
    today = clock.now().date()
    report = DailyReport(day=today.isoformat())
    catch_up = max(0, settings.loyalty_catch_up_days)
    _expire_lots(report, _days(today, catch_up))
    _remind_expiring(report, _days(today + timedelta(days=settings.points_reminder_days), catch_up))
    _review_tiers(report, _days(today, catch_up))
    if report.expired_points:  # a zero would be a billed metric-hour that says nothing the log does not
        count("LoyaltyExpiredPoints", report.expired_points)
    get_logger().info("daily loyalty run", extra=report.as_dict())
    if report.failures:
        raise RetryableError(f"{len(report.failures)} loyalty steps failed: {report.failures[:5]}")
    return report


def _expire_lots(report: DailyReport, days: list[date]) -> None:
    for day in days:
        for marker in _markers(day):
            try:
                points = ledger.expire_lot(marker.contact_id, marker.lot_id)
            except Exception as exc:  # noqa: BLE001 - one item's failure must not stop the run
                report.failed(f"expire {marker.contact_id} {marker.lot_id}", exc)
                continue
            report.expired_lots += 1 if points else 0
            report.expired_points += points


def _remind_expiring(report: DailyReport, days: list[date]) -> None:
    for day in days:
        for marker in _markers(day):
            try:
                sent = notices.remind_expiring(marker.contact_id, marker.lot_id, day)
            except Exception as exc:  # noqa: BLE001 - one item's failure must not stop the run
                report.failed(f"remind {marker.contact_id} {marker.lot_id}", exc)
                continue
            report.reminders += 1 if sent is Outcome.SENT else 0


def _review_tiers(report: DailyReport, days: list[date]) -> None:
    for day in days:
        for contact_id in _reviews(day):
            try:
                changed = review_tier(contact_id)
            except Exception as exc:  # noqa: BLE001 - one item's failure must not stop the run
                report.failed(f"review {contact_id}", exc)
                continue
            report.reviews += 1
            report.tier_changes += 1 if changed else 0


def review_tier(contact_id: str) -> bool:
    """Send a pending tier message, then lower the tier if a year has passed since the last change
    and the last 12 months no longer qualify; True when the tier changed. Raises RetryableError."""
    notices.settle_tier_notice(contact_id)
    for attempt in range(ledger.MAX_ATTEMPTS):
        now = clock.now()
        today = now.date()
        read = store.load_account(contact_id)
        if read.review_on is None or read.review_on > today:
            return False  # the index lags, or someone else reviewed it
        account = copy.deepcopy(read)
        rules = rulebook().current(today)
        change = evaluate_tier(account, rules, today)
        schedule_review(account, rules, today, reviewed=True)
        contact = store.load_contact(contact_id) if change else None
        update = ledger.contact_sync(contact, account, now)
        try:
            store.commit_review(account, update, now=now)
        except store.WriteConflict:
            ledger.pause(attempt)
            continue
        if change:
            notices.settle_tier_notice(contact_id)
        return change is not None
    raise RetryableError(f"the points account of {contact_id} kept changing during its review")
