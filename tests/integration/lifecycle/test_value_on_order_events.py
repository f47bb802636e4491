"""Order events move a contact's value, its RFM segment and the base's sketch once per event id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crm_core.lifecycle.service import read_contact
from crm_core.models import contact_id_for
from crm_core.value.store import read_sketch
from tests.loyalty_helpers import send


def event(
    kind: str, order_id: str, amount: str, at: str, email: str = "ana@example.com", **more: str
) -> dict[str, Any]:
    body = {
        "event_id": f"evt-{kind}-{order_id}-{more.get('refund_id', '')}",
        "type": kind,
        "order_id": order_id,
        "email": email,
        "amount": amount,
        "currency": "EUR",
        "occurred_at": at,
        **more,
    }
    return body


def test_purchases_and_a_refund_make_the_value_and_replays_change_nothing(orders, frozen_clock) -> None:
    frozen_clock.set(datetime(2026, 3, 10, 12, tzinfo=UTC))
    bodies = [
        event("purchase", "A-1", "100.00", "2026-01-05T10:00:00Z"),
        event("purchase", "A-2", "50.00", "2026-02-05T10:00:00Z"),
        event("refund", "A-2", "20.00", "2026-02-20T10:00:00Z", refund_id="R-1"),
    ]
    for _ in range(5):  # SQS delivers at least once: five deliveries of everything
        for body in bodies:
            send(orders.queue_url, body)
        orders.drain()

    contact = read_contact(contact_id_for("ana@example.com"))
    assert contact is not None
    figures = contact["value"]["figures"]
    assert figures["frequency_12m"] == 2
    assert figures["monetary_12m"] == "130.00"
    assert figures["average_order_value"] == "65.00"
    assert figures["last_order"] == "2026-02-05T10:00:00+00:00"
    assert figures["usual_interval_days"] == 31
    assert contact["lifecycle"]["stage"] == "expansion"
    assert read_sketch()["f"] == {"2": 1}  # one customer, counted once
    assert sum(read_sketch()["m"].values()) == 1
