"""One realistic context per message template, for tests that render every message (layout, screenshots)."""

from __future__ import annotations

from typing import Any

LOCALES = ("en", "it", "de", "id")
UNSUBSCRIBE = "https://crm.example.com/unsubscribe?token=abc.def"
_CASE = {
    "case_id": "C-2027-0042",
    "case_ref": "[Case #C-2027-0042]",
    "category": "delivery",
    "priority": "high",
    "team": "logistics",
    "status": "open",
}

SAMPLES: dict[str, dict[str, Any]] = {
    "welcome-hello": {"first_name": "Zoë"},
    "welcome-tips": {"first_name": "Zoë", "unsubscribe_url": UNSUBSCRIBE},
    "welcome-check-in": {"first_name": None, "unsubscribe_url": UNSUBSCRIBE},
    "post-purchase-thank-you": {"first_name": "Putu Ayu", "order_id": "A-1001"},
    "win-back-we-miss-you": {"first_name": "Marco", "unsubscribe_url": UNSUBSCRIBE},
    "consent-confirm": {"confirm_url": "https://crm.example.com/consent?token=abc.def"},
    "birthday": {"name": "Zoë", "points": 150, "unsubscribe_url": UNSUBSCRIBE},
    "anniversary": {"name": "Marco", "years": 3, "unsubscribe_url": UNSUBSCRIBE},
    "case-ack": {**_CASE, "name": "Zoë", "subject": "My parcel never arrived", "expected": "4 hours"},
    "case-reply": {
        **_CASE,
        "name": "Zoë",
        "body": "We found your parcel: it was held at the depot.\n\nIt leaves again today and reaches you "
        "tomorrow morning.",
        "agent": "Giulia",
        "subject": "My parcel never arrived",
    },
    "case-alert": {
        **_CASE,
        "subject": "My parcel never arrived",
        "breach": True,
        "level": 1,
        "target": "first_response",
        "due": "2027-02-28 13:30 UTC",
        "audience": "lead",
    },
    "points-expiring": {"name": "Zoë", "points": 120, "expires_on": "2027-03-31", "balance": 480},
    "tier-change": {
        "name": "Zoë",
        "upgrade": True,
        "tier": "gold",
        "previous_tier": "silver",
        "multiplier": 2,
        "balance": 1250,
    },
}
