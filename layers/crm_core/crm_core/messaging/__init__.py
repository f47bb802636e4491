"""The message engine: render in the contact's locale, claim once, send through SES v2, record."""

from __future__ import annotations

from crm_core.messaging.delivery import Outcome, Outgoing, deliver

__all__ = ["Outcome", "Outgoing", "deliver"]
