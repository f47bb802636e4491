"""What other parts of the CRM tell the campaigns: a purchase happened, a contact unsubscribed.

Both only read the contact's own enrollments (one Query on its partition) and write conditionally,
so they are safe to call again with the same arguments, in any order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from crm_core.campaigns import definitions, transitions
from crm_core.campaigns.enrollment import enroll
from crm_core.models import Enrollment

POST_PURCHASE, WIN_BACK = "post-purchase", "win-back"


def on_purchase(
    contact_id: str, order_id: str, at: datetime, *, context: Mapping[str, Any] | None = None
) -> None:
    """A contact bought (order `order_id` at `at`): thank them the next day, end campaigns that a
    purchase ends (win-back), and start the 90-day win-back clock again from this order.

    Safe to replay and to receive out of order: an older order never replaces the win-back clock
    of a newer one. Raises ConfigurationError if campaigns.yaml is broken; DynamoDB errors pass.
    """
    catalog = definitions.load()
    enroll(
        contact_id,
        POST_PURCHASE,
        at=at,
        occurrence=order_id,
        context={**(context or {}), "order_id": order_id},
    )
    win_back_key = f"{WIN_BACK}#{order_id}"
    newer_purchase = False
    for enrollment in Enrollment.query(contact_id, consistent_read=True):
        campaign = catalog.get(enrollment.campaign)
        if (
            enrollment.enrollment_key == win_back_key
            or campaign is None
            or "purchase" not in campaign.exit_on
        ):
            continue
        if enrollment.enrolled_at > at:
            newer_purchase = True  # this event is late: a later order already restarted the clock
        elif enrollment.status == transitions.ACTIVE:
            transitions.finish(enrollment, now=at, reason="purchase")
    if not newer_purchase:
        enroll(contact_id, WIN_BACK, at=at, occurrence=order_id, context={"order_id": order_id})


def stop_marketing(contact_id: str, *, now: datetime) -> int:
    """End every active enrollment of the contact that still has marketing steps ahead (it
    unsubscribed); returns how many ended. Service-only sequences (an order's thank-you) go on."""
    catalog, ended = definitions.load(), 0
    for enrollment in Enrollment.query(contact_id, consistent_read=True):
        campaign = catalog.get(enrollment.campaign)
        if enrollment.status != transitions.ACTIVE or campaign is None:
            continue
        if campaign.markets_from(int(enrollment.step)):
            ended += transitions.finish(enrollment, now=now, reason="unsubscribed")
    return ended
