"""Campaigns: sequences of messages a contact is enrolled in (defined in campaigns.yaml).

Entry points for the rest of the CRM:
- `enrollment.enroll(contact_id, campaign, at=..., occurrence=..., context=...)`: start a sequence.
- `on_purchase(contact_id, order_id, at)`: an order happened (post-purchase thank-you, win-back clock).
- `stop_marketing(contact_id, now=...)`: the contact unsubscribed.
- `sender.run(...)`: the scheduled run that sends due steps.
"""

from __future__ import annotations

from crm_core.campaigns.reactions import on_purchase, stop_marketing

__all__ = ["on_purchase", "stop_marketing"]
