"""SQS batches whose dead letters say why they died.

SQS's own redrive moves a message to the DLQ after `maxReceiveCount` receives, but it cannot say
why: the operator finds a body and no reason. So every failure is reported as a batch item failure
(SQS redelivers it, the rest of the batch is never blocked) except on the message's last receive,
where the processor sends it to the DLQ itself, with the reason as a message attribute, and
reports success so SQS deletes the original. Malformed events and transient faults take the same
path: a fault that lasts through every receive is as much a dead letter as a malformed body, and
retrying a malformed one costs a few cheap receives. Only a crash or a timeout on the last receive
leaves the move to SQS's redrive, without a reason (the DLQ alarm still fires).

The loop is ours rather than Powertools' BatchProcessor: that one imports asyncio and every event
data class of the library (~40 ms of a queue handler's cold start) and we replaced half of its
behaviour anyway; this one is the same partial-batch contract in thirty lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Self, TypedDict, TypeVar

from crm_core import aws, clock
from crm_core.errors import ValidationFailed
from crm_core.observability import count, get_logger

REASON_LIMIT = 1000  # characters of the reason kept in the message attribute

# What became of each record: (message id, "applied" | "replayed" | "parked" | "failed", reason or None).
# Nobody listens on Lambda; the local stack listens to report each message's fate truthfully.
Observer = Callable[[str, str, str | None], None]
_observers: list[Observer] = []
B = TypeVar("B")


def observe(observer: Observer) -> Callable[[], None]:
    """Call `observer` with the outcome of every record processed from now on; returns the undo."""
    _observers.append(observer)
    return lambda: _observers.remove(observer)


def _tell(message_id: str, outcome: str, reason: str | None = None) -> None:
    for observer in list(_observers):
        observer(message_id, outcome, reason)


@dataclass(frozen=True, slots=True)
class SqsRecord(Generic[B]):
    """A record of a Lambda SQS event: subclass it and give `parse_body` the body's reader.

    Powertools' SqsRecordModel would do, but importing it imports every parser model Powertools
    has, and pydantic with them, for this one shape.
    """

    messageId: str  # noqa: N815 - the Lambda event's own names
    receiptHandle: str  # noqa: N815 - the Lambda event's own names
    body: B
    eventSourceARN: str  # noqa: N815 - the Lambda event's own names
    attributes: Mapping[str, Any]
    messageAttributes: Mapping[str, Any]  # noqa: N815 - the Lambda event's own names

    what: ClassVar[str] = "message"  # how a reason names a body that could not be read

    @staticmethod
    def parse_body(text: str) -> B:
        """The body as the record's type; raises ValidationFailed (or ValueError) when it is not one."""
        raise NotImplementedError

    @classmethod
    def from_event(cls, raw: Mapping[str, Any]) -> Self:
        """The record of a Lambda SQS event's `Records` entry; raises ValueError when it is not one."""
        if raw.get("eventSource") != "aws:sqs" or not isinstance(raw.get("body"), str):
            raise ValueError("not an SQS record (eventSource aws:sqs with a body)")
        return cls(
            messageId=str(raw.get("messageId", "")),
            receiptHandle=str(raw.get("receiptHandle", "")),
            body=cls.parse_body(raw["body"]),
            eventSourceARN=str(raw.get("eventSourceARN", "")),
            attributes=raw.get("attributes") or {},
            messageAttributes=raw.get("messageAttributes") or {},
        )


class ItemFailure(TypedDict):
    """One failed record, as Lambda's partial batch response names it."""

    itemIdentifier: str


class BatchResponse(TypedDict):
    """The partial batch response: the records SQS must deliver again."""

    batchItemFailures: list[ItemFailure]


R = TypeVar("R", bound="SqsRecord[Any]")


def reason_of(exc: BaseException, what: str = "message") -> str:
    """A short, log-safe reason: each validation problem with its field, else the error's type and text."""
    invalid = isinstance(exc, ValidationFailed)
    text = f"invalid {what}: {exc}" if invalid else f"{type(exc).__name__}: {exc}"
    return text[:REASON_LIMIT]


class DeadLetteringBatch(Generic[R]):
    """Runs a record handler over each record of a Lambda SQS event (`ReportBatchItemFailures`):
    a failure is reported for redelivery, except on the message's last receive, where the message
    is parked in its DLQ with the reason and reported done."""

    def __init__(
        self,
        *,
        model: type[R],
        dead_letter_queue_url: Callable[[], str],
        max_receive_count: Callable[[], int],
    ) -> None:
        self._model = model
        self._dead_letter_queue_url = dead_letter_queue_url
        self._max_receive_count = max_receive_count

    def process(self, event: Mapping[str, Any], handler: Callable[[R], object]) -> BatchResponse:
        """Handle every record; the answer names the records SQS should deliver again.

        A handler's result with a true `replay` attribute marks the record a replay (already applied).
        """
        failures: list[ItemFailure] = []
        for raw in event.get("Records") or []:
            message_id = str(raw.get("messageId", ""))
            try:
                result = handler(self._model.from_event(raw))
            except Exception as exc:  # noqa: BLE001 - one record's failure must never fail the batch
                parked = self._parked(raw, exc)
                _tell(message_id, "parked" if parked else "failed", reason_of(exc, self._model.what))
                if not parked:
                    failures.append({"itemIdentifier": message_id})
                continue
            _tell(message_id, "replayed" if getattr(result, "replay", False) else "applied")
        return {"batchItemFailures": failures}

    def _parked(self, raw: Mapping[str, Any], exc: BaseException) -> bool:
        receives = int(raw.get("attributes", {}).get("ApproximateReceiveCount", "1") or 1)
        reason = reason_of(exc, self._model.what)
        log = get_logger()
        extra = {"message_id": raw.get("messageId"), "receives": receives, "reason": reason}
        if receives < self._max_receive_count():
            log.info("message failed; SQS will redeliver it", extra=extra)  # retries are routine
            return False
        try:
            park(raw, reason, self._dead_letter_queue_url())
        except Exception:  # SQS's redrive still moves it, only without the reason
            log.exception("could not park the message; SQS's redrive will move it", extra=extra)
            return False
        count("DeadLettered")
        log.error("message parked in the dead-letter queue", extra=extra)
        return True


def park(raw: Mapping[str, Any], reason: str, queue_url: str) -> None:
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
