"""SQS event sources (`SQS` events): put a message, deliver in batches, honour partial failures, redrive."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

from infra.local import events
from infra.local.runtime import Runtime
from infra.local.triggers.lookup import NotFoundError, arn_index
from infra.template import Template

OUTCOMES = ("applied", "replayed", "parked", "dead_lettered", "failed")  # what became of a message
MAX_DELIVERY_ROUNDS = 200  # a queue without a DLQ and a poison message must not loop for ever


@dataclass
class Consumer:
    function: str
    batch_size: int
    partial_failures: bool
    enabled: bool


@dataclass
class QueueInfo:
    logical_id: str
    name: str
    arn: str
    dlq: str | None = None  # logical id of the dead-letter queue
    max_receive: int | None = None
    consumers: list[Consumer] = field(default_factory=list)


class Queues:
    """SQS event sources: put a message, deliver in batches, honour partial failures, redrive to the DLQ."""

    def __init__(self, template: Template, runtime: Runtime, sqs: Any) -> None:
        self.template, self.runtime, self.sqs = template, runtime, sqs
        self._lock = threading.Lock()  # one poller per stack, as one event source mapping polls alone
        by_arn = arn_index(template, "AWS::SQS::Queue")
        self.items: dict[str, QueueInfo] = {}
        for logical_id, resource in template.of_type("AWS::SQS::Queue"):
            info = QueueInfo(logical_id, template.physical_name(logical_id), template.arn(logical_id))
            redrive = template.resolve(resource.get("Properties", {}).get("RedrivePolicy"))
            if isinstance(redrive, dict):
                info.dlq = by_arn.get(str(redrive.get("deadLetterTargetArn")))
                info.max_receive = int(redrive.get("maxReceiveCount", 0)) or None
            self.items[logical_id] = info
        for function_id, function in template.functions().items():
            for event in function.events.values():
                if event.get("Type") != "SQS":
                    continue
                props = template.resolve(event.get("Properties", {}) or {})
                queue = by_arn.get(str(props.get("Queue")))
                if queue is None:
                    continue
                self.items[queue].consumers.append(
                    Consumer(
                        function=function_id,
                        batch_size=int(props.get("BatchSize", 10)),
                        partial_failures="ReportBatchItemFailures"
                        in (props.get("FunctionResponseTypes") or []),
                        enabled=bool(props.get("Enabled", True)),
                    )
                )

    def info(self, logical_id: str) -> QueueInfo:
        if logical_id not in self.items:
            raise NotFoundError(f"no queue {logical_id} in the template (queues: {sorted(self.items)})")
        return self.items[logical_id]

    def url(self, logical_id: str) -> str:
        return str(self.sqs.get_queue_url(QueueName=self.items[logical_id].name)["QueueUrl"])

    def depth(self, logical_id: str) -> tuple[int, int]:
        """(visible, in flight) messages of a queue."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.url(logical_id),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def describe(self) -> list[dict[str, Any]]:
        listed = []
        for info in self.items.values():
            visible, in_flight = self.depth(info.logical_id)
            listed.append(
                {
                    "logical_id": info.logical_id,
                    "name": info.name,
                    "depth": visible,
                    "in_flight": in_flight,
                    "dlq": info.dlq,
                    "dlq_depth": self.depth(info.dlq)[0] if info.dlq else None,
                    "max_receive_count": info.max_receive,
                    "consumers": [c.function for c in info.consumers],
                }
            )
        return listed

    def send(self, logical_id: str, body: str, group: str | None = None) -> str:
        """Put one message on the queue; returns its message id."""
        request: dict[str, Any] = {"QueueUrl": self.url(logical_id), "MessageBody": body}
        if self.items[logical_id].name.endswith(".fifo"):
            request["MessageGroupId"] = group or "default"
            request["MessageDeduplicationId"] = hashlib.sha256(body.encode()).hexdigest()
        return str(self.sqs.send_message(**request)["MessageId"])

    def put_and_deliver(self, logical_id: str, body: str, group: str | None = None) -> dict[str, Any]:
        info = self.info(logical_id)
        message_id = self.send(logical_id, body, group)
        return {"queue": info.logical_id, "message_id": message_id} | self.deliver(logical_id)

    def deliver(self, logical_id: str) -> dict[str, Any]:
        """Deliver everything waiting to the queue's consumer until the queue is empty.

        Failed messages are made visible again at once (Lambda would wait for the visibility timeout)
        and redelivered; SQS moves a message to the DLQ on the receive after `maxReceiveCount`.
        A queue without a DLQ keeps a failed message for its visibility timeout, then a later delivery.

        `messages` says what became of each message, in the order first received: `applied`,
        `replayed` (a repeat the function recognised), `parked` (the function put it in the DLQ
        itself, with its `reason`), `dead_lettered` (SQS's redrive moved it after its last failed
        receive), or `failed` (it waits to be redelivered). `succeeded` lists the applied and
        replayed ones, `dead_lettered` every message that ended in the DLQ.
        """
        info = self.info(logical_id)
        report: dict[str, Any] = {
            "consumer": None,
            "batches": [],
            "messages": [],
            "succeeded": [],
            "parked": [],
            "dead_lettered": [],
        }
        consumer = next((c for c in info.consumers if c.enabled), None)
        if consumer is not None:
            report["consumer"] = consumer.function
            fates: dict[str, dict[str, Any]] = {}
            with self._lock:
                emptied = self._drain(info, consumer, report, fates)
            for message_id, fate in fates.items():
                if fate["outcome"] == "failed" and info.dlq and emptied:
                    fate["outcome"] = "dead_lettered"  # the queue emptied: SQS's redrive moved it
                report["messages"].append({"message_id": message_id, **fate})
            by_outcome: dict[str, list[str]] = {o: [] for o in OUTCOMES}
            for message in report["messages"]:
                by_outcome[message["outcome"]].append(message["message_id"])
            report["succeeded"] = by_outcome["applied"] + by_outcome["replayed"]
            report["parked"] = by_outcome["parked"]
            report["dead_lettered"] = sorted(by_outcome["parked"] + by_outcome["dead_lettered"])
        visible, in_flight = self.depth(logical_id)
        report.update(
            depth=visible, in_flight=in_flight, dlq_depth=self.depth(info.dlq)[0] if info.dlq else None
        )
        return report

    def _drain(
        self, info: QueueInfo, consumer: Consumer, report: dict[str, Any], fates: dict[str, dict[str, Any]]
    ) -> bool:
        """Deliver until the queue is empty (True) or the rounds run out (False); each message's fate
        (what the function said of it, else what its batch answer means) goes into `fates`."""
        from crm_core import queues

        url = self.url(info.logical_id)
        told: dict[str, tuple[str, str | None]] = {}
        stop = queues.observe(lambda mid, outcome, reason: told.__setitem__(mid, (outcome, reason)))
        try:
            for _ in range(MAX_DELIVERY_ROUNDS):
                messages = self._receive(url, consumer.batch_size)
                if not messages:
                    return True
                told.clear()
                failed = self._deliver_batch(info, consumer, messages, report)
                for message in messages:
                    message_id = message["MessageId"]
                    outcome, reason = told.get(message_id, ("applied", None))
                    if message_id in failed:  # whatever the function said, SQS keeps what it reported failed
                        outcome = "failed"
                        reason = reason or report["batches"][-1]["error"] or "reported in batchItemFailures"
                    fates[message_id] = {
                        "outcome": outcome,
                        "receives": int(message["Attributes"].get("ApproximateReceiveCount", 1)),
                        "reason": reason if outcome in {"parked", "failed"} else None,
                    }
                self._settle(url, info, messages, failed)
        finally:
            stop()
        return False

    def _deliver_batch(
        self, info: QueueInfo, consumer: Consumer, messages: list[dict[str, Any]], report: dict[str, Any]
    ) -> list[str]:
        """Invoke the consumer with one batch; the ids it failed."""
        records = [events.sqs_record(m, queue_arn=info.arn, region=self.template.region) for m in messages]
        invocation = self.runtime.invoke(consumer.function, {"Records": records})
        ids = [m["MessageId"] for m in messages]
        failed = _failed_ids(invocation.result, invocation.error, ids, consumer.partial_failures)
        report["batches"].append(
            {
                "message_ids": ids,
                "failed": failed,
                "error": invocation.error and invocation.error["errorMessage"],
                "receive_counts": [int(m["Attributes"].get("ApproximateReceiveCount", 1)) for m in messages],
            }
        )
        return failed

    def _settle(self, url: str, info: QueueInfo, messages: list[dict[str, Any]], failed: list[str]) -> None:
        """Delete what succeeded; with a DLQ, make the failed visible again at once for redelivery."""
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        if info.dlq is None:
            return  # without a DLQ, failures wait out their visibility timeout
        for message in (m for m in messages if m["MessageId"] in failed):
            self.sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )

    def _receive(self, url: str, batch_size: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < batch_size:
            received = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(10, batch_size - len(messages)),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not received:
                break
            messages.extend(received)
        return messages


def _failed_ids(result: Any, error: dict[str, Any] | None, ids: list[str], partial: bool) -> list[str]:
    """Which messages of a batch failed, by Lambda's rules for SQS event sources."""
    if error is not None:
        return list(ids)
    if not partial or not isinstance(result, dict):
        return []
    failures = result.get("batchItemFailures") or []
    named = [f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures]
    if any(not item or item not in ids for item in named):
        return list(ids)  # an empty or unknown identifier fails the whole batch
    return [i for i in ids if i in named]
