"""A purchase on the orders queue starts the post-purchase follow-up: the thank-you goes out the next
day, once, however often SQS delivers the order event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_core.campaigns import sender
from crm_core.models import Enrollment, contact_id_for
from tests.helpers import outbox
from tests.loyalty_helpers import send

ANA = "ana@example.com"


def _purchase(order_id: str, occurred_at: str) -> dict[str, str]:
    return {
        "event_id": f"evt-{order_id}",
        "type": "purchase",
        "order_id": order_id,
        "email": ANA,
        "amount": "49.90",
        "currency": "EUR",
        "occurred_at": occurred_at,
    }


def test_a_purchase_enrolls_post_purchase_once_and_the_thank_you_follows_the_next_day(
    orders, stack, frozen_clock
) -> None:
    frozen_clock.set(datetime(2026, 11, 23, 9, 20, tzinfo=UTC))
    send(orders.queue_url, _purchase("A-1001", "2026-11-23T09:15:00Z"))
    records = orders.receive()
    orders.deliver(records)
    orders.handler({"Records": records}, orders.context)  # SQS delivered the same batch again

    enrollments = {e.enrollment_key: e.status for e in Enrollment.query(contact_id_for(ANA))}
    assert enrollments == {"post-purchase#A-1001": "active"}  # win-back starts on dissolution (lifecycle)

    sender.run(remaining_ms=lambda: 60_000)
    assert stack.sent_emails() == []  # the thank-you waits for the next day

    frozen_clock.advance(timedelta(days=1, hours=1))
    sender.run(remaining_ms=lambda: 60_000)
    sender.run(remaining_ms=lambda: 60_000)
    sent = outbox(stack)
    assert len(sent) == 1
    assert "A-1001" in sent[0].subject
    assert sent[0].headers["Reply-To"] == stack.env["SUPPORT_ADDRESS"]  # a reply reaches the complaint inbox
