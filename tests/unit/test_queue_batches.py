"""The partial-batch loop: one record's failure never fails the others, an empty batch is fine."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from crm_core.queues import DeadLetteringBatch, SqsRecord


@dataclass(frozen=True)
class Order:
    order_id: str


@dataclass(frozen=True, slots=True)
class OrderRecord(SqsRecord[Order]):
    @staticmethod
    def parse_body(text: str) -> Order:
        return Order(order_id=str(json.loads(text)["order_id"]))


def _record(message_id: str, body: str, receives: int = 1) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receives)},
        "messageAttributes": {},
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders",
        "awsRegion": "eu-west-1",
    }


def _batch() -> DeadLetteringBatch[OrderRecord]:
    return DeadLetteringBatch(
        model=OrderRecord, dead_letter_queue_url=lambda: "unused", max_receive_count=lambda: 3
    )


def test_failures_are_reported_one_by_one_and_the_rest_is_handled() -> None:
    handled: list[str] = []

    def handle(record: OrderRecord) -> None:
        if record.body.order_id == "boom":
            raise RuntimeError("ledger unavailable")
        handled.append(record.body.order_id)

    event = {
        "Records": [
            _record("m1", json.dumps({"order_id": "A-1"})),
            _record("m2", "not json"),
            _record("m3", json.dumps({"order_id": "boom"})),
            _record("m4", json.dumps({"order_id": "A-4"})),
        ]
    }
    answer = _batch().process(event, handle)

    assert handled == ["A-1", "A-4"]
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}


def test_an_empty_batch_is_answered_without_failures() -> None:
    assert _batch().process({"Records": []}, lambda record: None) == {"batchItemFailures": []}


def test_an_observer_hears_what_became_of_each_record(monkeypatch: Any) -> None:
    """What the local stack listens to, so its queue report never calls a parked message a success."""
    from types import SimpleNamespace

    from crm_core import queues

    monkeypatch.setattr(queues, "park", lambda raw, reason, url: None)
    monkeypatch.setattr(queues, "count", lambda *args: None)  # metrics need a deployment's settings
    heard: list[tuple[str, str, str | None]] = []
    stop = queues.observe(lambda *outcome: heard.append(outcome))

    def handle(record: OrderRecord) -> object:
        if record.body.order_id == "boom":
            raise RuntimeError("ledger unavailable")
        return SimpleNamespace(replay=record.body.order_id == "again")

    event = {
        "Records": [
            _record("m1", json.dumps({"order_id": "A-1"})),
            _record("m2", json.dumps({"order_id": "again"})),
            _record("m3", json.dumps({"order_id": "boom"})),
            _record("m4", json.dumps({"order_id": "boom"}), receives=3),
        ]
    }
    try:
        _batch().process(event, handle)
    finally:
        stop()
    _batch().process({"Records": [_record("m5", json.dumps({"order_id": "A-5"}))]}, handle)

    assert heard == [
        ("m1", "applied", None),
        ("m2", "replayed", None),
        ("m3", "failed", "RuntimeError: ledger unavailable"),
        ("m4", "parked", "RuntimeError: ledger unavailable"),
    ]
