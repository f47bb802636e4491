"""Runners for every trigger but HTTP: schedules, SQS event sources, SNS topics, SES inbound, S3.

All of them read the template's `Events` (and receipt rules): nothing is listed twice.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crm_core import clock
from infra.local import events, expressions
from infra.local.runtime import Runtime
from infra.template import ACCOUNT_ID, Template

OUTCOMES = ("applied", "replayed", "parked", "dead_lettered", "failed")  # what became of a message
MAX_DELIVERY_ROUNDS = 200  # a queue without a DLQ and a poison message must not loop for ever


class NotFoundError(LookupError):
    """The logical id names nothing of the kind in the template."""


def _arn_index(template: Template, kind: str) -> dict[str, str]:
    return {template.arn(logical_id): logical_id for logical_id, _ in template.of_type(kind)}


# ---- schedules --------------------------------------------------------------------------------------
@dataclass
class Schedule:
    function: str
    event: str
    expression: str
    scheduler: bool  # ScheduleV2 (EventBridge Scheduler) rather than an EventBridge rule
    payload: str | None
    enabled: bool
    resource_arn: str
    parsed: expressions.Expression | None
    problem: str | None = None
    last_run: datetime | None = None
    last_status: str | None = None
    last_check: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "logical_id": self.function,  # the function's; `event` names which of its schedules
            "function": self.function,
            "event": self.event,
            "expression": self.expression,
            "enabled": self.enabled,
            "last_run": self.last_run and events.iso_seconds(self.last_run),
            "last_status": self.last_status,
            **({"problem": self.problem} if self.problem else {}),
        }


class Schedules:
    """Scheduled functions: run on demand, or by the local clock when auto mode is on."""

    def __init__(self, template: Template, runtime: Runtime) -> None:
        self.runtime = runtime
        self.started = clock.now()
        self.items: list[Schedule] = []
        for logical_id, function in template.functions().items():
            for name, event in function.events.items():
                if event.get("Type") not in {"Schedule", "ScheduleV2"}:
                    continue
                props = template.resolve(event.get("Properties", {}) or {})
                scheduler = event["Type"] == "ScheduleV2"
                expression = str(props.get("ScheduleExpression" if scheduler else "Schedule", ""))
                state = str(props.get("State", "ENABLED")).upper()
                enabled = bool(props.get("Enabled", True)) and state == "ENABLED"
                payload = props.get("Input")
                region = template.region
                if scheduler:
                    group = props.get("GroupName", "default")
                    arn = f"arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule/{group}/{logical_id}{name}"
                else:
                    arn = f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{template.stack}-{logical_id}{name}"
                try:
                    parsed: expressions.Expression | None = expressions.parse(
                        expression, props.get("ScheduleExpressionTimezone")
                    )
                    problem = None
                except (expressions.ExpressionError, ValueError) as exc:
                    parsed, problem = None, str(exc)
                self.items.append(
                    Schedule(
                        logical_id,
                        name,
                        expression,
                        scheduler,
                        None if payload is None else str(payload),
                        enabled,
                        arn,
                        parsed,
                        problem,
                    )
                )

    def describe(self) -> list[dict[str, Any]]:
        return [s.as_dict() for s in self.items]

    def of(self, function: str, event: str | None = None) -> list[Schedule]:
        found = [s for s in self.items if s.function == function and (event is None or s.event == event)]
        if not found:
            known = sorted({s.function for s in self.items})
            raise NotFoundError(f"{function} has no schedule {event or ''} (scheduled functions: {known})")
        return found

    def run(self, schedule: Schedule) -> dict[str, Any]:
        """Invoke the function now, at the local clock's time, as the schedule would."""
        at = clock.now()
        event = events.scheduled_event(
            at=at,
            region=self.runtime.template.region,
            resource_arn=schedule.resource_arn,
            scheduler=schedule.scheduler,
            payload=schedule.payload,
        )
        outcome = self.runtime.invoke_async(schedule.function, event).as_dict()
        schedule.last_run, schedule.last_status = at, outcome["status"]
        return {
            "schedule": schedule.event,
            "expression": schedule.expression,
            "time": events.iso_seconds(at),
        } | (outcome)

    def due(self, now: datetime) -> list[Schedule]:
        """Schedules with a firing in (last check, now]; a jump of the clock fires each at most once."""
        found = []
        for schedule in self.items:
            last = schedule.last_check or self.started
            schedule.last_check = now
            if not schedule.enabled or schedule.parsed is None or now <= last:
                continue
            fire = schedule.parsed.next_after(last, self.started)
            if fire is not None and fire <= now:
                found.append(schedule)
        return found


class AutoScheduler(threading.Thread):
    """Fires due schedules by the local clock, twice a second, until stopped."""

    def __init__(self, schedules: Schedules, log: Callable[[str], None]) -> None:
        super().__init__(name="schedules", daemon=True)
        self.schedules = schedules
        self._log = log
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.5):
            self.tick()

    def tick(self) -> list[dict[str, Any]]:
        """Run every schedule due by the local clock now; their outcomes."""
        outcomes = []
        for schedule in self.schedules.due(clock.now()):
            outcome = self.schedules.run(schedule)
            self._log(
                f"schedule {schedule.function}.{schedule.event} ({schedule.expression}) at "
                f"{outcome['time']}: {outcome['status']} after {outcome['attempts']} attempt(s)"
            )
            outcomes.append(outcome)
        return outcomes

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


# ---- queues -----------------------------------------------------------------------------------------
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
        by_arn = _arn_index(template, "AWS::SQS::Queue")
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
            import hashlib

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


# ---- topics -----------------------------------------------------------------------------------------
class Topics:
    """SNS topics: publish, then deliver to every function subscribed by a `Type: SNS` event."""

    def __init__(self, template: Template, runtime: Runtime, sns: Any) -> None:
        self.template, self.runtime, self.sns = template, runtime, sns
        by_arn = _arn_index(template, "AWS::SNS::Topic")
        self.subscribers: dict[str, list[str]] = {logical_id: [] for logical_id in by_arn.values()}
        for function_id, function in template.functions().items():
            for event in function.events.values():
                if event.get("Type") == "SNS":
                    topic = by_arn.get(str(template.resolve((event.get("Properties") or {}).get("Topic"))))
                    if topic is not None:
                        self.subscribers[topic].append(function_id)

    def describe(self) -> list[dict[str, Any]]:
        return [
            {"logical_id": t, "arn": self.template.arn(t), "subscribers": s}
            for t, s in self.subscribers.items()
        ]

    def for_arn(self, arn: str) -> str:
        found = _arn_index(self.template, "AWS::SNS::Topic").get(arn)
        if found is None:
            raise NotFoundError(f"no topic with ARN {arn} in the template")
        return found

    def publish(self, logical_id: str, message: str, subject: str | None = None) -> dict[str, Any]:
        if logical_id not in self.subscribers:
            raise NotFoundError(f"no topic {logical_id} in the template (topics: {sorted(self.subscribers)})")
        arn = self.template.arn(logical_id)
        request: dict[str, Any] = {"TopicArn": arn, "Message": message}
        if subject:
            request["Subject"] = subject
        message_id = str(self.sns.publish(**request)["MessageId"])
        event = events.sns_event(
            topic_arn=arn,
            message=message,
            message_id=message_id,
            subject=subject,
            at=clock.now(),
            region=self.template.region,
        )
        deliveries = [self.runtime.invoke_async(f, event).as_dict() for f in self.subscribers[logical_id]]
        return {"topic": logical_id, "message_id": message_id, "deliveries": deliveries}


# ---- EventBridge buses ------------------------------------------------------------------------------
def matches(pattern: Any, event: Any) -> bool:
    """EventBridge's pattern matching for what our templates use: each key's list of allowed values,
    nested objects for `detail`."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(matches(v, event.get(k)) for k, v in pattern.items())
    if isinstance(pattern, list):
        return event in pattern or (isinstance(event, list) and any(e in pattern for e in event))
    return bool(pattern == event)


class Buses:
    """EventBridge buses: events put on a bus (by a function through PutEvents, or on
    `POST /_local/buses/{LogicalId}`) are delivered to every function whose `EventBridgeRule` event on
    that bus matches, asynchronously (retries, then the on-failure destination), after the invocation
    that put them has finished, as on AWS."""

    def __init__(self, template: Template, runtime: Runtime) -> None:
        self.template, self.runtime = template, runtime
        self.names = {template.physical_name(b): b for b, _ in template.of_type("AWS::Events::EventBus")}
        self.subscribers: dict[str, list[tuple[str, dict[str, Any]]]] = {b: [] for b in self.names.values()}
        for function_id, function in template.functions().items():
            for event in function.events.values():
                if event.get("Type") != "EventBridgeRule":
                    continue
                props = event.get("Properties") or {}
                bus = self.names.get(str(template.resolve(props.get("EventBusName", "default"))))
                if bus is not None:
                    self.subscribers[bus].append((function_id, template.resolve(props.get("Pattern") or {})))
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def describe(self) -> list[dict[str, Any]]:
        return [
            {"logical_id": b, "name": self.template.physical_name(b), "subscribers": [f for f, _ in s]}
            for b, s in self.subscribers.items()
        ]

    def listen(self, session: Any) -> None:
        """Catch PutEvents of every client made from `session` (the functions' boto3 default one)."""
        session.events.register("before-parameter-build.events.PutEvents", self._captured)

    def _captured(self, params: dict[str, Any], **_: Any) -> None:
        for entry in params.get("Entries") or []:
            bus = self.names.get(str(entry.get("EventBusName", "default")).rpartition("/")[2])
            if bus is not None:
                with self._lock:
                    self.pending.append((bus, entry))

    def flush(self) -> list[dict[str, Any]]:
        """Deliver what functions put on buses since the last flush (called after each invocation)."""
        with self._lock:
            batch, self.pending = self.pending, []
        return [delivery for bus, entry in batch for delivery in self.deliver(bus, entry)]

    def put(self, logical_id: str, entry: dict[str, Any]) -> dict[str, Any]:
        if logical_id not in self.subscribers:
            raise NotFoundError(
                f"no event bus {logical_id} in the template (buses: {sorted(self.subscribers)})"
            )
        return {"bus": logical_id, "deliveries": self.deliver(logical_id, entry)}

    def deliver(self, logical_id: str, entry: dict[str, Any]) -> list[dict[str, Any]]:
        detail = entry.get("Detail") or "{}"
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": entry.get("DetailType", ""),
            "source": entry.get("Source", ""),
            "account": ACCOUNT_ID,
            "time": events.iso_seconds(clock.now()),
            "region": self.template.region,
            "resources": list(entry.get("Resources") or []),
            "detail": json.loads(detail) if isinstance(detail, str) else detail,
        }
        return [
            self.runtime.invoke_async(function, event).as_dict()
            for function, pattern in self.subscribers[logical_id]
            if matches(pattern, event)
        ]


# ---- S3 and SES inbound -----------------------------------------------------------------------------
class Buckets:
    """S3 event notifications (`Type: S3` events) for objects the local stack puts."""

    def __init__(self, template: Template, runtime: Runtime, s3: Any) -> None:
        self.template, self.runtime, self.s3 = template, runtime, s3
        self.listeners: list[tuple[str, str, list[str], list[tuple[str, str]]]] = []
        for function_id, function in template.functions().items():
            for event in function.events.values():
                if event.get("Type") != "S3":
                    continue
                props = event.get("Properties") or {}
                bucket = props.get("Bucket", {})
                bucket_id = str(bucket.get("Ref")) if isinstance(bucket, dict) else str(bucket)
                kinds = props.get("Events") or []
                kinds = [kinds] if isinstance(kinds, str) else kinds
                rules = (props.get("Filter") or {}).get("S3Key", {}).get("Rules", [])
                filters = [(str(r["Name"]).lower(), str(r["Value"])) for r in rules]
                self.listeners.append((function_id, bucket_id, [str(k) for k in kinds], filters))

    def put(self, bucket_id: str, key: str, body: bytes) -> dict[str, Any]:
        """Put an object, then invoke (asynchronously) every function notified of it."""
        if bucket_id not in dict(self.template.of_type("AWS::S3::Bucket")):
            raise NotFoundError(f"no bucket {bucket_id} in the template")
        bucket = self.template.physical_name(bucket_id)
        etag = str(self.s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"])
        event = events.s3_event(
            bucket=bucket, key=key, size=len(body), etag=etag, at=clock.now(), region=self.template.region
        )
        notified = [
            self.runtime.invoke_async(function_id, event).as_dict()
            for function_id, listened, kinds, filters in self.listeners
            if listened == bucket_id
            and any(k in {"s3:ObjectCreated:*", "s3:ObjectCreated:Put"} for k in kinds)
            and all(key.startswith(v) if n == "prefix" else key.endswith(v) for n, v in filters)
        ]
        return {"bucket": bucket, "key": key, "notified": notified}

    def bucket_id(self, name: str) -> str:
        for logical_id, _ in self.template.of_type("AWS::S3::Bucket"):
            if self.template.physical_name(logical_id) == name:
                return logical_id
        raise NotFoundError(f"no bucket named {name} in the template")


class Inbox:
    """SES inbound: the template's receipt rule applies its actions to a message, in their order.

    S3Action stores the message (then its TopicArn, if any, gets the "Received" notification);
    SNSAction publishes the notification with the content; LambdaAction invokes the function with
    the SES event (asynchronously for InvocationType Event, the default).
    """

    def __init__(self, template: Template, runtime: Runtime, buckets: Buckets, topics: Topics) -> None:
        self.template, self.runtime, self.buckets, self.topics = template, runtime, buckets, topics
        self.rules: list[tuple[str, dict[str, Any]]] = []
        for logical_id, resource in template.of_type("AWS::SES::ReceiptRule"):
            rule = template.resolve(resource.get("Properties", {}).get("Rule", {}))
            if rule.get("Enabled", True) and any(_delivers(a) for a in rule.get("Actions", [])):
                self.rules.append((logical_id, rule))

    def deliver(self, raw: bytes, verdicts: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """(HTTP status, answer): 202 with what each action did, or 404 when no rule takes the mail."""
        if not self.rules:
            return 404, {
                "message": "template.yaml has no AWS::SES::ReceiptRule that invokes a function or notifies"
                " a topic yet"
            }
        recipients = events.recipients_of(raw)
        for rule_id, rule in self.rules:
            accepted = [r for r in recipients if _rule_accepts(rule.get("Recipients") or [], r)]
            if accepted:
                return 202, self._apply(rule_id, rule, raw, accepted, verdicts)
        return 404, {
            "message": f"no receipt rule accepts mail for {recipients or 'nobody (no To or Cc)'}",
            "rules": {rule_id: rule.get("Recipients") or ["*"] for rule_id, rule in self.rules},
        }

    def _apply(
        self, rule_id: str, rule: dict[str, Any], raw: bytes, recipients: list[str], verdicts: dict[str, str]
    ) -> dict[str, Any]:
        message_id = events.ses_message_id()
        answer: dict[str, Any] = {"rule": rule_id, "message_id": message_id, "recipients": recipients}
        common: dict[str, Any] = {
            "message_id": message_id,
            "recipients": recipients,
            "verdicts": verdicts,
            "at": clock.now(),
        }
        for action in rule.get("Actions", []):
            if "S3Action" in action:
                s3_action = action["S3Action"]
                key = f"{s3_action.get('ObjectKeyPrefix', '')}{message_id}"
                stored = self.buckets.put(self.buckets.bucket_id(str(s3_action["BucketName"])), key, raw)
                answer["stored"] = {"bucket": stored["bucket"], "key": key}
                if s3_action.get("TopicArn"):
                    described = {
                        "type": "S3",
                        "topicArn": s3_action["TopicArn"],
                        "bucketName": stored["bucket"],
                        "objectKeyPrefix": s3_action.get("ObjectKeyPrefix", ""),
                        "objectKey": key,
                    }
                    notice = events.ses_received_notification(
                        raw, action=described, with_content=False, **common
                    )
                    answer.setdefault("notifications", []).append(
                        self._notify(str(s3_action["TopicArn"]), notice)
                    )
            elif "SNSAction" in action:
                sns_action = action["SNSAction"]
                described = {
                    "type": "SNS",
                    "topicArn": sns_action["TopicArn"],
                    "encoding": sns_action.get("Encoding", "UTF-8"),
                }
                notice = events.ses_received_notification(raw, action=described, with_content=True, **common)
                answer.setdefault("notifications", []).append(
                    self._notify(str(sns_action["TopicArn"]), notice)
                )
            elif "LambdaAction" in action:
                answer["invocation"] = self._invoke(rule_id, action["LambdaAction"], raw, common)
        return answer

    def _notify(self, topic_arn: str, notification: dict[str, Any]) -> dict[str, Any]:
        return self.topics.publish(
            self.topics.for_arn(topic_arn), json.dumps(notification), "Amazon SES Email Receipt Notification"
        )

    def _invoke(
        self, rule_id: str, action: dict[str, Any], raw: bytes, common: dict[str, Any]
    ) -> dict[str, Any]:
        arn = str(action["FunctionArn"])
        function = self.runtime.function_for_arn(arn)
        if function is None:
            raise NotFoundError(f"the receipt rule {rule_id} invokes {arn}, not a function of the template")
        event = events.ses_inbound_event(raw, function_arn=self.runtime.arn(function), **common)
        if action.get("InvocationType", "Event") != "RequestResponse":
            return self.runtime.invoke_async(function, event).as_dict()
        invocation = self.runtime.invoke(function, event)
        return {
            "function": function,
            "status": "succeeded" if invocation.ok else "failed",
            "result": invocation.result,
            "error": invocation.error,
        }


def _delivers(action: dict[str, Any]) -> bool:
    """Does this receipt rule action hand the message to code (a function, or a topic's subscribers)?"""
    return (
        "LambdaAction" in action or "SNSAction" in action or bool(action.get("S3Action", {}).get("TopicArn"))
    )


def _rule_accepts(patterns: list[str], address: str) -> bool:
    """SES recipient matching: an address, a domain, or `.domain` for its subdomains; none means all.

    An address also matches its labelled forms, as on SES: `user@x.com` accepts `user+label@x.com`.
    """
    if not patterns:
        return True
    address = address.lower()
    local, _, domain = address.rpartition("@")
    unlabelled = f"{local.partition('+')[0]}@{domain}"
    for pattern in (p.lower() for p in patterns):
        if (
            pattern in {address, unlabelled}
            or ("@" not in pattern and domain == pattern.lstrip("."))
            or (pattern.startswith(".") and domain.endswith(pattern))
        ):
            return True
    return False


def destination_sender(sqs: Any, topics: Topics, runtime: Runtime) -> Callable[..., Any]:
    """Where async invocation records go: an SQS queue, an SNS topic (delivered on), or another function."""

    def send(kind: str, arn: str, record: dict[str, Any]) -> dict[str, str]:
        body = json.dumps(record)
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        if kind == "SQS" or service == "sqs":
            name = arn.rsplit(":", 1)[1]
            sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"], MessageBody=body)
            return {"type": "SQS", "queue": name}
        if kind == "SNS" or service == "sns":
            topics.publish(topics.for_arn(arn), body)
            return {"type": "SNS", "topic": arn}
        if kind == "Lambda" or service == "lambda":
            function = runtime.function_for_arn(arn)
            if function is not None:
                runtime.invoke_async(function, record)
                return {"type": "Lambda", "function": function}
        return {"type": kind, "target": arn, "note": "not delivered by the local stack"}

    return send
