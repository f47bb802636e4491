"""One person, one contact, at the orders queue: an address in any spelling is one contact, and a
purchase whose contact_id is not its email's contact is parked with the reason."""

from __future__ import annotations

import json
from typing import Any

import boto3

from crm_core.models import Contact, contact_id_for
from tests.loyalty_data import balance_of
from tests.loyalty_helpers import send


def purchase(order_id: str, **who: str) -> dict[str, Any]:
    return {
        "event_id": f"evt-{order_id}",
        "type": "purchase",
        "order_id": order_id,
        "amount": "10.00",
        "currency": "EUR",
        "occurred_at": "2026-11-23T09:15:00Z",
        **who,
    }


def test_both_spellings_of_an_international_domain_are_one_customer(orders: Any) -> None:
    send(orders.queue_url, purchase("I-1", email="User@exämple.de"))
    send(orders.queue_url, purchase("I-2", email="user@xn--exmple-cua.de"))
    orders.drain()
    assert balance_of("user@exämple.de") == 120  # 2 x 10 points and one first-purchase bonus
    assert Contact.get(contact_id_for("user@exämple.de")).email == "user@xn--exmple-cua.de"


def test_a_purchase_whose_contact_id_is_not_its_email_s_contact_is_parked_with_the_reason(
    orders: Any, stack: Any
) -> None:
    send(
        orders.queue_url,
        purchase("I-3", email="ana@example.com", contact_id=contact_id_for("bo@example.com")),
    )
    orders.drain()
    url = stack.template.ref("OrdersDeadLetterQueue")
    (parked,) = boto3.client("sqs").receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(parked["Body"])["order_id"] == "I-3"
    assert "is not the contact of the email" in parked["MessageAttributes"]["reason"]["StringValue"]
    for email in ("ana@example.com", "bo@example.com"):
        assert balance_of(email) == 0
