"""The orders queue handler with real SQS Lambda events (received from moto's SQS, shaped as Lambda
delivers them): batches with a poison message, replays, an SES failure on the tier email (the
purchase still succeeds),
DynamoDB throttling, and dead letters that say why they died."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import boto3
from botocore.exceptions import ClientError

from crm_core import aws
from crm_core.models import Contact, SentMessage, contact_id_for
from crm_core.models.loyalty import LedgerEntry, LoyaltyBalance
from tests.loyalty_data import balance_of, ledger_sum
from tests.loyalty_helpers import send

ANA = "ana@example.com"


def purchase_body(order_id: str, amount: str = "49.90", email: str = ANA, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"evt-{order_id}",
        "type": "purchase",
        "order_id": order_id,
        "email": email,
        "amount": amount,
        "currency": "EUR",
        "occurred_at": "2026-11-23T09:15:00Z",
        **extra,
    }


def dead_letters(stack) -> list[dict[str, Any]]:
    url = stack.template.ref("OrdersDeadLetterQueue")
    return (
        boto3.client("sqs")
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        .get("Messages", [])
    )


def test_a_purchase_earns_points_creates_the_contact_and_a_replay_changes_nothing(orders, stack) -> None:
    send(orders.queue_url, purchase_body("A-1001", "49.90"))
    records = orders.receive()

    first = orders.deliver(records)
    second = orders.handler({"Records": records}, orders.context)  # SQS delivered the same batch again

    assert first == second == {"batchItemFailures": []}
    # 49 points (49.90 EUR at 1 point per euro, rounded down) + 100 first-purchase bonus
    assert balance_of(ANA) == 149 == ledger_sum(ANA)
    contact = Contact.get(contact_id_for(ANA))
    assert contact.email == ANA
    assert contact.customer_since == "2026-11-23"
    assert contact.anniversary_day and contact.anniversary_day.startswith("11-23#")
    assert contact.tier == "bronze"
    assert stack.sent_emails() == []  # bronze is where everyone starts: no tier-change message


def test_a_poison_message_in_a_batch_of_ten_fails_alone_and_the_nine_apply_once(orders, stack) -> None:
    poison = send(
        orders.queue_url, purchase_body("A-5", amount=49.9)
    )  # a JSON number: the cents are not trusted
    for n in range(9):
        send(orders.queue_url, purchase_body(f"B-{n}", "10.00", email=f"c{n}@example.com"))
    records = orders.receive()
    assert len(records) == 10

    response = orders.deliver(records)

    assert response["batchItemFailures"] == [{"itemIdentifier": poison}]
    for n in range(9):
        assert balance_of(f"c{n}@example.com") == 110  # 10 points + the first-purchase bonus, once
    # the nine were deleted; the poison comes back until its last receive, then parks itself with a reason
    orders.drain()
    parked = dead_letters(stack)
    assert len(parked) == 1
    assert json.loads(parked[0]["Body"])["order_id"] == "A-5"
    reason = parked[0]["MessageAttributes"]["reason"]["StringValue"]
    assert "amount" in reason and "decimal string" in reason
    assert parked[0]["MessageAttributes"]["source_message_id"]["StringValue"] == poison
    for n in range(9):
        assert balance_of(f"c{n}@example.com") == 110


def test_an_event_the_ledger_refuses_is_parked_with_its_reason_after_the_last_receive(orders, stack) -> None:
    send(orders.queue_url, purchase_body("A-7", currency="XYZ"))  # a currency the rules give no points for

    responses = orders.drain()

    assert [len(r["batchItemFailures"]) for r in responses] == [1, 1, 0]  # receives 1 and 2 fail, 3 parks
    (parked,) = dead_letters(stack)
    assert "XYZ earns no points" in parked["MessageAttributes"]["reason"]["StringValue"]


def test_an_empty_batch_is_answered_without_error(orders) -> None:
    assert orders.handler({"Records": []}, orders.context) == {"batchItemFailures": []}


def test_a_failed_tier_email_does_not_fail_the_applied_purchase_and_the_daily_review_sends_it(
    orders, stack
) -> None:
    from crm_core.loyalty import daily

    send(orders.queue_url, purchase_body("A-2000", "620.00"))  # 620 qualifying points: silver at once
    throttled = ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow"}}, "SendEmail")
    with mock.patch.object(aws.sesv2(), "send_email", side_effect=throttled):
        applied = orders.deliver(orders.receive())

    assert applied == {"batchItemFailures": []}  # points applied = success: never parked for an email
    assert dead_letters(stack) == []
    assert balance_of(ANA) == 720  # 620 x 1 (bronze when bought) + 100 bonus
    assert stack.sent_emails() == []
    assert LoyaltyBalance.get(contact_id_for(ANA), "balance").notice is not None  # pending, not lost

    daily.review_tier(contact_id_for(ANA))  # the notice's own path: the daily run's tier review

    assert balance_of(ANA) == 720
    (email,) = stack.sent_emails()
    assert "Silver" in email.raw_data
    claim = SentMessage.get(f"{contact_id_for(ANA)}#tier-change#silver#2026-11-23")
    assert claim.status == "sent"
    assert LoyaltyBalance.get(contact_id_for(ANA), "balance").notice is None
    assert Contact.get(contact_id_for(ANA)).tier == "silver"


def test_dynamodb_throttling_fails_the_record_and_the_redelivery_applies_it_once(orders, stack) -> None:
    send(orders.queue_url, purchase_body("A-3000", "20.00"))
    throttled = ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "throttled"},
            "CancellationReasons": [{"Code": "ThrottlingError"}, {"Code": "None"}],
        },
        "TransactWriteItems",
    )
    # moto never throttles: the client raises what DynamoDB raises after botocore's own retries
    with mock.patch.object(aws.dynamodb(), "transact_write_items", side_effect=throttled):
        failed = orders.deliver(orders.receive())
    assert len(failed["batchItemFailures"]) == 1
    assert not list(LedgerEntry.query(contact_id_for(ANA)))

    assert orders.deliver(orders.receive()) == {"batchItemFailures": []}
    assert balance_of(ANA) == 120 == ledger_sum(ANA)


def test_a_refund_before_its_purchase_waits_for_it(orders, stack) -> None:
    refund = {**purchase_body("A-4000", "40.00"), "type": "refund", "refund_id": "R-1", "event_id": "evt-r1"}
    send(orders.queue_url, refund)
    assert len(orders.deliver(orders.receive())["batchItemFailures"]) == 1  # out of order: retried later

    send(orders.queue_url, purchase_body("A-4000", "40.00"))
    orders.drain()

    assert balance_of(ANA) == 0 == ledger_sum(ANA)  # 40 + 100 bonus earned, all of it refunded
    assert dead_letters(stack) == []


def test_an_adjustment_moves_points_once_with_its_reason(orders) -> None:
    orders.deliver([])  # nothing to do with an empty batch either
    send(orders.queue_url, purchase_body("A-5000", "100.00"))
    adjustment = {
        "event_id": "evt-adj-1",
        "type": "adjustment",
        "contact_id": contact_id_for(ANA),
        "points": -30,
        "reason": "points given twice by the old till",
        "occurred_at": "2026-11-23T09:30:00Z",
    }
    send(orders.queue_url, adjustment)
    send(orders.queue_url, adjustment)  # the shop sent it twice
    orders.drain()

    assert balance_of(ANA) == 170
    entry = LedgerEntry.get(contact_id_for(ANA), "adjust#evt-adj-1")
    assert (int(entry.points), entry.reason) == (-30, "points given twice by the old till")


def _parked_reasons(orders, stack) -> list[str]:
    orders.drain()
    return [m["MessageAttributes"]["reason"]["StringValue"] for m in dead_letters(stack)]


def test_an_order_seen_again_with_another_amount_is_parked_with_the_reason(orders, stack) -> None:
    send(orders.queue_url, purchase_body("A-3000", "49.90"))
    orders.drain()
    send(orders.queue_url, purchase_body("A-3000", "4990.00", event_id="evt-A-3000-bis"))

    (reason,) = _parked_reasons(orders, stack)

    assert "A-3000" in reason and "amount" in reason
    assert balance_of(ANA) == 149


def test_an_order_seen_again_in_another_currency_is_parked(orders, stack) -> None:
    send(orders.queue_url, purchase_body("A-3001", "49.90"))
    orders.drain()
    send(orders.queue_url, purchase_body("A-3001", "49.90", currency="USD", event_id="evt-x"))

    (reason,) = _parked_reasons(orders, stack)

    assert "currency" in reason


def test_a_refund_id_reused_on_another_order_is_parked_with_the_reason(orders, stack) -> None:
    for order in ("A-4000", "A-4001"):
        send(orders.queue_url, purchase_body(order, "100.00"))
    orders.drain()
    refund = {"type": "refund", "refund_id": "R-1", "amount": "10.00"}
    send(orders.queue_url, purchase_body("A-4000", event_id="evt-r1", **refund))
    orders.drain()
    send(orders.queue_url, purchase_body("A-4001", event_id="evt-r2", **refund))

    (reason,) = _parked_reasons(orders, stack)

    assert "R-1" in reason and "A-4000" in reason


def test_the_same_order_event_delivered_twice_is_still_a_harmless_replay(orders, stack) -> None:
    send(orders.queue_url, purchase_body("A-5000", "49.90"))
    send(orders.queue_url, purchase_body("A-5000", "49.900"))  # the same amount, written differently

    assert _parked_reasons(orders, stack) == []
    assert balance_of(ANA) == 149


def test_a_first_purchase_below_the_minimum_earns_no_bonus(orders, stack) -> None:
    send(orders.queue_url, purchase_body("A-6000", "0.0001"))
    orders.drain()
    tiny = balance_of(ANA)
    send(orders.queue_url, purchase_body("A-6001", "20.00"))
    orders.drain()

    assert tiny == 0
    assert balance_of(ANA) == 20 + 100  # the bonus waits for the first purchase that reaches the minimum


def test_an_event_id_seen_again_with_other_content_is_parked_and_changes_nothing(orders, stack) -> None:
    send(orders.queue_url, purchase_body("A-7000", "49.90", event_id="evt-7"))
    orders.drain()
    send(orders.queue_url, purchase_body("A-7001", "500.00", event_id="evt-7"))  # same id, another order

    (reason,) = _parked_reasons(orders, stack)

    assert "evt-7" in reason and "other content" in reason
    assert balance_of(ANA) == 149  # the first purchase only (49 points + the first-purchase bonus)


def test_an_event_id_longer_than_the_limit_is_parked_not_truncated(orders, stack) -> None:
    send(orders.queue_url, purchase_body("A-7100", event_id="e" * 300))

    (reason,) = _parked_reasons(orders, stack)

    assert "event_id" in reason
