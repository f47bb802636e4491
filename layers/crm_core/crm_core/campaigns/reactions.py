"""How the campaigns react to the rest of the CRM: a purchase happened, a contact unsubscribed.

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

POST_PURCHASE = "post-purchase"


def on_purchase(
    contact_id: str, order_id: str, at: datetime, *, context: Mapping[str, Any] | None = None
) -> None:
    """A contact bought (order `order_id` at `at`): thank them the next day and end the campaigns
    that a purchase ends (win-back). Win-back itself starts when the contact's lifecycle enters
    dissolution (crm_core.lifecycle: by default 90 days without a purchase).

    Safe to replay and to receive out of order: a late order never ends a campaign that started
    after it. Raises ConfigurationError if campaigns.yaml is broken; DynamoDB errors pass.
    """
    catalog = definitions.load()
    enroll(
        contact_id,
        POST_PURCHASE,
        at=at,
        occurrence=order_id,
        context={**(context or {}), "order_id": order_id},
    )
    for enrollment in Enrollment.query(contact_id, consistent_read=True):
        campaign = catalog.get(enrollment.campaign)
        if campaign is None or "purchase" not in campaign.exit_on or enrollment.enrolled_at > at:
            continue  # a campaign that started after this (late) order is not ended by it
        if enrollment.status == transitions.ACTIVE:
            transitions.finish(enrollment, now=at, reason="purchase")


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
