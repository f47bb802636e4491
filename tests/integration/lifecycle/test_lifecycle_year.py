"""A year of a small shop, played with the movable clock: leads, purchases, a refund, a reply, a
complaint, silence. Each contact's stage history, value and segment are checked against the table
below, worked out by hand from the rules' defaults (docs/lifecycle.md, docs/customer-value.md):

Ana buys 10 Jan (100), 10 Feb (60), 10 Mar (80), 1 Jul (50):
  10 Jan expansion (first purchase); 10 Mar commitment (3 purchases in 12 months; this shop's
  rules grant 100 bonus points, once per contact);
  usual interval 30 days, silence limit 2 x 30 = 60: dissolution 9 May (win-back sent);
  1 Jul commitment (4 in 12 months); interval now 57, limit min(90, 114) = 90: dissolution 29 Sep.
Bo is a lead on 5 Jan, replies 1 Feb, buys 1 Apr (40), refunded 5 Apr:
  exploration; 1 Feb awareness; 1 Apr expansion; one purchase, limit 90: dissolution 30 Jun.
Cy buys 20 May (500); a complaint opened 1 Jun is resolved 24 Jun:
  20 May expansion; 15 Jun dissolution (complaint open 14 days, seen by the 22 Jun run);
  24 Jun expansion; 18 Aug dissolution (20 May + 90 days).
Di is a lead on 5 Jan and nothing else: exploration all year, never in the review index.

Value at the December review (window Jan-Dec 2026): Ana F=4 M=290.00, Bo F=1 M=0.00 (refunded),
Cy F=1 M=500.00. Midrank quintiles over the three customers: recency (last order) Bo 1, Cy 3, Ana 5;
frequency Bo 2, Cy 2, Ana 5; monetary Bo 1, Ana 3, Cy 5. Segments by R x F: Ana 5/5 champions,
Cy 3/2 about to sleep, Bo 1/2 hibernating.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from crm_core.campaigns import sender
from crm_core.lifecycle import service
from crm_core.lifecycle.rules import load_rules
from crm_core.lifecycle.service import read_contact
from crm_core.loyalty import history, summary
from crm_core.models import Enrollment, contact_id_for
from crm_core.owners import service as owners
from crm_core.settings import reset_settings
from tests.helpers import bus_listener, bus_received, http_event, load_handler, outbox
from tests.loyalty_helpers import send

ANA, BO, CY, DI = "ana@example.com", "bo@example.com", "cy@example.com", "di@example.com"


def purchase(email: str, order_id: str, amount: str, day: date) -> dict[str, Any]:
    return {
        "event_id": f"evt-{order_id}",
        "type": "purchase",
        "order_id": order_id,
        "email": email,
        "amount": amount,
        "currency": "EUR",
        "occurred_at": f"{day.isoformat()}T10:00:00Z",
    }


def refund(email: str, order_id: str, amount: str, day: date) -> dict[str, Any]:
    return {**purchase(email, order_id, amount, day), "type": "refund", "refund_id": f"R-{order_id}",
            "event_id": f"evt-R-{order_id}"}  # fmt: skip


def signal(kind: str, detail: dict[str, str]) -> tuple[str, dict[str, Any]]:
    return kind, detail


CY_ID = contact_id_for(CY)
STORY: dict[date, list[Any]] = {
    date(2026, 1, 5): [("lead", BO), ("lead", DI)],
    date(2026, 1, 10): [purchase(ANA, "A-1", "100.00", date(2026, 1, 10))],
    date(2026, 2, 1): [signal("crm.engagement", {"contact_id": contact_id_for(BO), "id": "msg-1",
                                                 "at": "2026-02-01T10:00:00Z", "what": "reply"})],
    date(2026, 2, 10): [purchase(ANA, "A-2", "60.00", date(2026, 2, 10))],
    date(2026, 3, 10): [purchase(ANA, "A-3", "80.00", date(2026, 3, 10))],
    date(2026, 4, 1): [purchase(BO, "B-1", "40.00", date(2026, 4, 1))],
    date(2026, 4, 5): [refund(BO, "B-1", "40.00", date(2026, 4, 5))],
    date(2026, 5, 20): [purchase(CY, "C-1", "500.00", date(2026, 5, 20))],
    date(2026, 6, 1): [signal("crm.case.opened", {"contact_id": CY_ID, "case_id": "case-1",
                                                  "opened_at": "2026-06-01T10:00:00Z"})],
    date(2026, 6, 24): [signal("crm.case.resolved", {"contact_id": CY_ID, "case_id": "case-1",
                                                     "resolved_at": "2026-06-24T10:00:00Z"})],
    date(2026, 7, 1): [purchase(ANA, "A-4", "50.00", date(2026, 7, 1))],
}  # fmt: skip

EXPECTED_HISTORY = {
    ANA: [
        ("exploration", "expansion", "2026-01-10", "first purchase"),
        ("expansion", "commitment", "2026-03-10", "3 purchases in 12 months"),
        ("commitment", "dissolution", "2026-05-09", "no purchase for 60 days"),
        ("dissolution", "commitment", "2026-07-01", "4 purchases in 12 months"),
        ("commitment", "dissolution", "2026-09-29", "no purchase for 90 days"),
    ],
    BO: [
        ("exploration", "awareness", "2026-02-01", "1 engagement(s): reply"),
        ("awareness", "expansion", "2026-04-01", "first purchase"),
        ("expansion", "dissolution", "2026-06-30", "no purchase for 90 days"),
    ],
    CY: [
        ("exploration", "expansion", "2026-05-20", "first purchase"),
        ("expansion", "dissolution", "2026-06-15", "complaint unresolved for 14 days"),
        ("dissolution", "expansion", "2026-06-24", "first purchase"),
        ("expansion", "dissolution", "2026-08-18", "no purchase for 90 days"),
    ],
    DI: [],
}

EXPECTED_VALUE = {  # (frequency, monetary, average order value, rfm, segment)
    ANA: (4, "290.00", "72.50", "553", "champions"),
    BO: (1, "0.00", "0.00", "121", "hibernating"),
    CY: (1, "500.00", "500.00", "325", "about_to_sleep"),
}


@pytest.fixture
def shop(orders: Any, track: Any, stack: Any, frozen_clock: Any, lambda_context: Any) -> Any:
    leads = load_handler("capture_lead").lambda_handler

    def play(item: Any) -> None:
        if isinstance(item, dict):
            send(orders.queue_url, item)
            orders.drain()
        elif item[0] == "lead":
            answer = leads(http_event("POST", "/leads", body={"email": item[1]}), lambda_context)
            assert answer["statusCode"] in {200, 201}, answer
        else:
            track(item[0], item[1])

    return play


def _history(email: str) -> list[tuple[str, str, str, str]]:
    contact = read_contact(contact_id_for(email)) or {}
    return [
        (c["from"], c["to"], c["at"][:10], c["reason"])
        for c in (contact.get("lifecycle") or {}).get("history", [])
    ]


def _stable(email: str) -> dict[str, Any]:
    contact = dict(read_contact(contact_id_for(email)) or {})
    for moving in ("version", "updated_at"):
        contact.pop(moving, None)
    return contact


def test_a_year_of_a_small_shop(
    shop: Any, track: Any, stack: Any, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFECYCLE_CATCH_UP_DAYS", "7")  # the review runs weekly here: a week back suffices
    reset_settings()
    shipped = load_rules()  # this shop grants 100 points on entering commitment (off by default)
    rules = replace(shipped, commitment=replace(shipped.commitment, bonus_points=100))
    monkeypatch.setattr(service, "load_rules", lambda: rules)
    listener = bus_listener(stack, "lifecycle-listener", ["crm.lifecycle.changed"])
    win_back_mail: list[Any] = []
    day = date(2026, 1, 1)
    while day <= date(2026, 12, 31):
        if day.weekday() == 0:  # the daily rule, run weekly here: each run catches up 7 days
            frozen_clock.set(datetime(day.year, day.month, day.day, 3, 15, tzinfo=UTC))
            track()
        frozen_clock.set(datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC))
        for item in STORY.get(day, []):
            shop(item)
        if day == date(2026, 1, 31):  # an agent makes Giulia Ana's owner: she hears when Ana drifts away
            owners.set_owner(contact_id_for(ANA), "giulia", by="test")
        if day == date(2026, 5, 11):  # the Monday run found Ana's silence: the win-back goes out
            sender.run(remaining_ms=lambda: 60_000)
            win_back_mail = [m for m in outbox(stack) if ANA in m.to and "miss you" in m.subject]
        day += timedelta(days=1)

    for email, expected in EXPECTED_HISTORY.items():
        assert _history(email) == expected, email
    # Each entry into dissolution (9 May, 29 Sep) gave Ana's owner one call task, replays aside.
    tasks = owners.list_tasks(contact_id_for(ANA))["tasks"]
    assert [t["created_by"] for t in tasks] == ["rule:dissolution", "rule:dissolution"]
    assert "lifecycle_review" not in (read_contact(contact_id_for(DI)) or {})  # a lead: nothing moves by time

    for email, (frequency, monetary, aov, rfm, segment) in EXPECTED_VALUE.items():
        value = (read_contact(contact_id_for(email)) or {})["value"]
        figures = value["figures"]
        assert (figures["frequency_12m"], figures["monetary_12m"], figures["average_order_value"]) == (
            frequency, monetary, aov
        ), email  # fmt: skip
        assert (value["rfm"], value["segment"]) == (rfm, segment), email
    # Ana at the December review (Monday 7 Dec, 03:15): whole days since her first order (10 Jan
    # 10:00) 330, since her last (1 Jul 10:00) 158. Gamma-Poisson rate (4 + 1) / (330/365 + 1) a year,
    # alive 90/158 (limit 90 days), average order 72.50: 108.44.
    ana = (read_contact(contact_id_for(ANA)) or {})["value"]["figures"]
    predicted = Decimal(5) / (Decimal(330) / 365 + 1) * Decimal(90) / Decimal(158) * Decimal("72.5")
    assert predicted.quantize(Decimal("0.01")) == Decimal("108.44")
    assert ana["predicted_12m"] == str(predicted.quantize(Decimal("0.01")))

    # Effects: a win-back on each entry into dissolution (the first sent, so completed; the second waits
    # for the sender, which this test runs only in May); the commitment bonus once.
    enrollments = {e.enrollment_key: e for e in Enrollment.query(contact_id_for(ANA))}
    win_backs = sorted(k for k in enrollments if k.startswith("win-back#"))
    assert win_backs == ["win-back#lifecycle-20260509T100000", "win-back#lifecycle-20260929T100000"]
    assert enrollments["win-back#lifecycle-20260509T100000"].status == "completed"
    assert enrollments["win-back#lifecycle-20260929T100000"].status == "active"
    assert len(win_back_mail) == 1
    entries = history(contact_id_for(ANA), limit=50).to_json()["entries"]
    bonuses = [e["points"] for e in entries if e["id"] == "bonus#lifecycle-commitment"]
    assert bonuses == [100]  # once, though Ana entered commitment twice (bonus_once_per_contact)
    changes = [e["detail"] for e in bus_received(listener)]
    assert sorted((c["contact_id"], c["to"], c["at"][:10]) for c in changes) == sorted(
        (contact_id_for(email), to, at) for email, rows in EXPECTED_HISTORY.items() for _, to, at, _ in rows
    )

    # Five replays of every event, signal and run change nothing.
    before = {email: _stable(email) for email in EXPECTED_HISTORY}
    points = summary(contact_id_for(ANA)).to_json()
    for _ in range(5):
        for day_items in STORY.values():
            for item in day_items:
                if isinstance(item, dict) or item[0] != "lead":
                    shop(item)
        track()
    assert {email: _stable(email) for email in EXPECTED_HISTORY} == before
    assert summary(contact_id_for(ANA)).to_json() == points
    assert [e["detail"] for e in bus_received(listener)] == []
