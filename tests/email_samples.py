"""One realistic context per message template, for tests that render every message (layout, screenshots)."""

from __future__ import annotations

from typing import Any

LOCALES = ("en", "it", "de", "id")
UNSUBSCRIBE = "https://crm.example.com/unsubscribe?token=abc.def"
SURVEY_LINK = "https://crm.example.com/surveys/answer?token=abc.def&score={}"
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
    "survey": {  # the widest scale (NPS, 0-10), after a case: the footer names the support contact
        "first_name": "Marco",
        "survey": "after-case",
        "scale": "nps",
        "question": "How likely are you to recommend us to a friend or colleague?",
        "scores": [{"score": score, "url": SURVEY_LINK.format(score)} for score in range(11)],
        "expires_on": "2027-03-30",
        "case_id": "C-2027-0042",
    },
    "owner-digest": {
        "owner": "Giulia",
        "day": "2027-02-28",
        "tasks": [
            {"contact": "Zoë Laurent", "note": "Send the catalogue", "due": "2027-02-26", "overdue": True},
            {
                "contact": "Marco Bianchi",
                "note": "Call about the order",
                "due": "2027-02-28",
                "overdue": False,
            },
        ],
        "occasions": [
            {"kind": "birthday", "day": "2027-03-01", "contact": "Livia Conti", "years": None},
            {"kind": "anniversary", "day": "2027-03-04", "contact": "Putu Ayu", "years": 3},
        ],
        "cases": [],  # an empty section says so
    },
}


def sample(name: str, locale: str) -> dict[str, Any]:
    """The context of `name` as the code would give it in `locale` (what the code localizes before
    rendering, such as the expected response time of a case acknowledgement)."""
    from datetime import timedelta

    from crm_core.cases.mail import human_duration

    context = dict(SAMPLES[name])
    if name == "case-ack":
        context["expected"] = human_duration(timedelta(hours=4), locale)
    return context
