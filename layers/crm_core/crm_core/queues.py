"""SQS batches whose dead letters say why they died.

SQS's own redrive moves a message to the DLQ after `maxReceiveCount` receives, but it cannot say
why: the operator finds a body and no reason. So every failure is reported as a batch item failure
(SQS redelivers it, the rest of the batch is never blocked) except on the message's last receive,
where the processor sends it to the DLQ itself, with the reason as a message attribute, and
reports success so SQS deletes the original. Malformed events and transient faults take the same
path: a fault that lasts through every receive is as much a dead letter as a malformed body, and
retrying a malformed one costs a few cheap receives. Only a crash or a timeout on the last receive
leaves the move to SQS's redrive, without a reason (the DLQ alarm still fires).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.types import BatchTypeModels
from pydantic import ValidationError

from crm_core import aws, clock
from crm_core.observability import count, get_logger

REASON_LIMIT = 1000  # characters of the reason kept in the message attribute


def reason_of(exc: BaseException) -> str:
    """A short, log-safe reason: each validation problem with its field, else the error's type and text."""
    if isinstance(exc, ValidationError):
        problems = [
            f"{'.'.join(str(p) for p in err['loc'] if p not in ('body',)) or 'body'}: {err['msg']}"
            for err in exc.errors()
        ]
        text = "invalid order event: " + "; ".join(problems)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:REASON_LIMIT]


class DeadLetteringBatchProcessor(BatchProcessor):
    """A Powertools BatchProcessor (SQS) that parks a message in its DLQ, with the reason, on its
    last receive instead of reporting it failed once more."""

    def __init__(
        self,
        *,
        model: BatchTypeModels | None,
        dead_letter_queue_url: Callable[[], str],
        max_receive_count: Callable[[], int],
    ) -> None:
        super().__init__(event_type=EventType.SQS, model=model, raise_on_entire_batch_failure=False)
        self._dead_letter_queue_url = dead_letter_queue_url
        self._max_receive_count = max_receive_count
        self._raw: dict[str, Any] = {}

    def _process_record(self, record: dict[str, Any]) -> Any:
        self._raw = record  # failure_handler gets the parsed model; parking needs the message as it came
        return super()._process_record(record)

    def failure_handler(self, record: Any, exception: Any) -> Any:
        raw = self._raw
        receives = int(raw.get("attributes", {}).get("ApproximateReceiveCount", "1") or 1)
        reason = reason_of(exception[1])
        log = get_logger()
        extra = {"message_id": raw.get("messageId"), "receives": receives, "reason": reason}
        if receives < self._max_receive_count():
            log.info("message failed; SQS will redeliver it", extra=extra)  # retries are routine
            return super().failure_handler(record, exception)
        try:
            park(raw, reason, self._dead_letter_queue_url())
        except Exception:  # noqa: BLE001 - SQS's redrive still moves it, only without the reason
            log.exception("could not park the message; SQS's redrive will move it", extra=extra)
            return super().failure_handler(record, exception)
        count("DeadLettered")
        log.error("message parked in the dead-letter queue", extra=extra)
        return self.success_handler(raw, result=None)


def park(raw: dict[str, Any], reason: str, queue_url: str) -> None:
    """Send a Lambda SQS record's body to a queue with `reason` and where it came from as attributes."""
    attributes: dict[str, Any] = {}
    for name, value in (raw.get("messageAttributes") or {}).items():
        kind = value.get("dataType") or value.get("DataType") or "String"
        text = value.get("stringValue") or value.get("StringValue")
        if text is not None and len(attributes) < 6:  # SQS allows 10 attributes; ours take 4
            attributes[name] = {"DataType": kind, "StringValue": text}
    attributes.update(
        {
            "reason": {"DataType": "String", "StringValue": reason or "unknown"},
            "source_message_id": {"DataType": "String", "StringValue": str(raw.get("messageId", ""))},
            "source_queue": {"DataType": "String", "StringValue": str(raw.get("eventSourceARN", ""))},
            "parked_at": {"DataType": "String", "StringValue": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")},
        }
    )
    aws.sqs().send_message(QueueUrl=queue_url, MessageBody=raw.get("body", ""), MessageAttributes=attributes)
