"""Messages of the loyalty programme, all through `crm_core.messaging.deliver` (claimed once).

A tier change is written with the points that caused it as a pending `notice` on the balance item;
it is sent after the transaction and cleared only once `deliver` has an answer that will not
change (sent, duplicate, suppressed). Until then the balance stays in the `tier-reviews` index on
the notice's day, so a failed send is retried by the redelivered order event or the daily run.
"""

from __future__ import annotations

from datetime import date

from crm_core import clock
from crm_core.errors import RetryableError
from crm_core.loyalty import store
from crm_core.loyalty.account import Notice, schedule_review
from crm_core.loyalty.ledger import pause
from crm_core.loyalty.rules import rulebook
from crm_core.messaging import Outcome, Outgoing, deliver
from crm_core.observability import count, get_logger

TIER_CHANGE = "tier-change"
POINTS_EXPIRING = "points-expiring"
SETTLED = frozenset({Outcome.SENT, Outcome.DUPLICATE, Outcome.SUPPRESSED})


def settle_tier_notice(contact_id: str) -> Outcome | None:
    """Send the pending tier-change message of a contact, if any, and clear it; returns the outcome.
    Raises RetryableError when the send failed (the notice stays pending for the next attempt)."""
    account = store.load_account(contact_id)
    notice = account.notice
    if notice is None:
        return None
    contact = store.load_contact(contact_id)
    outcome = Outcome.SUPPRESSED
    if contact is not None:
        rules = rulebook().current(clock.now().date())
        delivery = deliver(
            Outgoing(
                contact_id=contact_id,
                to=contact.email,
                kind=TIER_CHANGE,
                occurrence=notice.occurrence,
                template=TIER_CHANGE,
                locale=contact.locale,
                time_zone=contact.time_zone,
                context={
                    "name": contact.display_name,
                    "tier": notice.tier,
                    "previous_tier": notice.previous,
                    "upgrade": notice.upgrade,
                    "multiplier": str(rules.tier_rule(notice.tier).multiplier),
                    "balance": account.available,
                },
            )
        )
        outcome = delivery.outcome
        if outcome not in SETTLED:
            count("TierNoticeFailed")
            raise RetryableError(f"the tier-change message could not be sent ({delivery.reason}); retrying")
    _clear(contact_id, notice)
    count("TierNotices")
    return outcome


def _clear(contact_id: str, notice: Notice) -> None:
    """Drop the notice from the balance (re-read on conflict: only this very notice is cleared)."""
    for attempt in range(5):
        account = store.load_account(contact_id)
        if account.notice != notice:
            return
        account.notice = None
        today = clock.now().date()
        # the tier changed on the notice's day, so its next review is a year on: schedule afresh
        schedule_review(account, rulebook().current(today), today, reviewed=True)
        try:
            store.save_balance(account, now=clock.now())
            return
        except store.WriteConflict:
            pause(attempt)
    get_logger().warning(
        "tier notice sent but not cleared; the next run finds it", extra={"contact_id": contact_id}
    )


def remind_expiring(contact_id: str, lot_id: str, expires_on: date) -> Outcome | None:
    """Tell the contact that a lot's points expire soon, once per lot; None when nothing is left
    in it. Raises RetryableError when the send failed."""
    account = store.load_account(contact_id)
    lot = account.lot(lot_id)
    if lot is None or lot.points <= 0:
        return None
    contact = store.load_contact(contact_id)
    if contact is None:
        return None
    delivery = deliver(
        Outgoing(
            contact_id=contact_id,
            to=contact.email,
            kind=POINTS_EXPIRING,
            occurrence=lot_id,
            template=POINTS_EXPIRING,
            locale=contact.locale,
            time_zone=contact.time_zone,
            context={
                "name": contact.display_name,
                "points": lot.points,
                "expires_on": expires_on.isoformat(),
                "balance": account.available,
            },
        )
    )
    if delivery.outcome not in SETTLED:
        raise RetryableError(f"the expiry reminder could not be sent ({delivery.reason})")
    return delivery.outcome
