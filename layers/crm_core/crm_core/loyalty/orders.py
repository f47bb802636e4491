"""Order events from the shop: which contact, which movement, and the tier message after it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm_core.contacts.identity import IdentityConflict, contact_for
from crm_core.errors import FieldError, ValidationFailed
from crm_core.loyalty import ledger

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

    A purchase also starts the post-purchase follow-up and restarts the win-back clock; that step
    runs on replays too, so a crash between the ledger write and the enrollment is healed by the
    redelivery (enrolling is idempotent).

    Raises ValidationFailed / NotFound (the event can never apply), RetryableError (try again later:
    throttling, a refund before its purchase, a tier message that could not be sent).
    """
    contact_id = contact_of(event)
    if event.type == "purchase":
        applied = ledger.purchase(contact_id, event)
    elif event.type == "refund":
        applied = ledger.refund(contact_id, event)
    else:
        applied = ledger.adjust(contact_id, event)
    if event.type == "purchase" and applied is not None:
        from crm_core.campaigns import on_purchase  # noqa: PLC0415 - campaigns load only for purchases

        on_purchase(contact_id, event.order_id, event.occurred_at)
    if applied is not None and (applied.replay or applied.tier_to):  # a replay may find one still unsent
        from crm_core.loyalty import notices  # noqa: PLC0415 - the message engine only when a tier moved

        notices.settle_tier_notice(contact_id)
    return applied
