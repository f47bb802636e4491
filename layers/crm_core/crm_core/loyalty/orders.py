"""Order events from the shop: which contact, which movement, and the tier message after it."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from crm_core.contacts.identity import IdentityConflict, contact_for
from crm_core.errors import FieldError, RetryableError, ValidationFailed
from crm_core.loyalty import event_ids, ledger
from crm_core.observability import count, get_logger

if TYPE_CHECKING:
    from crm_core.loyalty.events import Adjustment, Purchase, Refund


def contact_of(event: Purchase | Refund | Adjustment) -> str:
    """The contact an event is about: the id derived from its email (crm_core.contacts.identity), else
    its contact_id. Raises ValidationFailed (the event can never apply) when it gives both and the
    contact_id is not the email's contact."""
    try:
        return contact_for(event.email, event.contact_id)
    except IdentityConflict as exc:
        raise ValidationFailed([FieldError("contact_id", str(exc))]) from None


def apply_order_event(event: Purchase | Refund | Adjustment) -> ledger.Applied | None:
    """Apply a parsed order event to the points ledger, at most once however often it arrives, then
    send the tier-change message it caused (a replay sends one still pending).

    A purchase also starts the post-purchase follow-up and ends win-back; that step runs on replays
    too, so a crash between the ledger write and the enrollment is healed by the redelivery
    (enrolling is idempotent).

    A tier message that cannot be sent now does not fail the event: the points are applied, the
    notice stays pending and the daily run sends it.

    Raises ValidationFailed / NotFound (the event can never apply), EventConflict (an event, order or
    refund id seen before with other content: parked with the reason), RetryableError (try again later:
    throttling, a refund before its purchase).
    """
    contact_id = contact_of(event)
    event_ids.claim(event)  # the same event id with other content is parked, never applied
    if event.type == "purchase":
        applied = ledger.purchase(contact_id, event)
    elif event.type == "refund":
        applied = ledger.refund(contact_id, event)
    else:
        applied = ledger.adjust(contact_id, event)
    if event.type == "purchase" and applied is not None:
        from crm_core.campaigns import on_purchase  # noqa: PLC0415 - campaigns load only for purchases

        on_purchase(contact_id, event.order_id, event.occurred_at)
        _owner_follow_up(contact_id, event.order_id, event.amount)
    if applied is not None and (applied.replay or applied.tier_to):  # a replay may find one still unsent
        from crm_core.loyalty import notices  # noqa: PLC0415 - the message engine only when a tier moved

        try:
            notices.settle_tier_notice(contact_id)
        except RetryableError as exc:
            # The points are applied: the event succeeded. The notice stays pending on the balance,
            # in the tier-reviews index, and the daily run sends it (its own retry path).
            count("TierNoticeDeferred")
            get_logger().warning("tier notice deferred to the daily run", extra={"reason": str(exc)[:200]})
    return applied


def _owner_follow_up(contact_id: str, order_id: str, amount: Decimal) -> None:
    """A new customer gets an account owner (routing rules, round-robin) and, after a large first order,
    the owner's call task. Runs on replays too: both are written once (crm_core.owners.service)."""
    from crm_core.models.loyalty import BALANCE_KEY, LoyaltyBalance  # noqa: PLC0415 - owners and balances load only for purchases
    from crm_core.owners import service  # noqa: PLC0415 - owners load only for purchases

    first = False
    if service.first_purchase_matters(amount):  # most orders are small: no read for them
        try:
            first = int(LoyaltyBalance.get(contact_id, BALANCE_KEY, consistent_read=True).purchases or 0) <= 1
        except LoyaltyBalance.DoesNotExist:
            first = True
    service.on_purchase(contact_id, order_id, amount, first_purchase=first)
