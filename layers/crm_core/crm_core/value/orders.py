"""What an order event does beyond the points: the contact's value and its lifecycle stage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm_core.loyalty.orders import apply_order_event, contact_of

if TYPE_CHECKING:
    from crm_core.loyalty.events import Adjustment, Purchase, Refund
    from crm_core.loyalty.ledger import Applied


def on_order_event(event: Purchase | Refund | Adjustment) -> Applied | None:
    """Apply an order event to the points ledger (crm_core.loyalty.apply_order_event), then count a
    purchase or refund in the contact's value (once per event id) and recompute its lifecycle stage.
    Both run on replays too, so a crash after the ledger write is healed by the redelivery.

    Raises what apply_order_event raises, and RetryableError when the value or the stage could not
    be written now (the event is redelivered; the ledger sees a replay).
    """
    from crm_core import lifecycle  # noqa: PLC0415 - the stage and value code only when an order event comes
    from crm_core.value.store import record_order_event  # noqa: PLC0415 - the stage and value code only when an order event comes

    applied = apply_order_event(event)
    if applied is not None and event.type != "adjustment":
        contact_id = contact_of(event)
        record_order_event(contact_id, event)
        lifecycle.reevaluate(contact_id, cause=f"{event.type}:{event.order_id}")
    return applied
