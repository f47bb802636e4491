"""Test helpers of the loyalty area: handlers by path, SQS events as Lambda gets them, HTTP API events."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from infra.local.events import sqs_record
from tests.helpers import http_event as shared_http_event
from tests.helpers import load_handler

__all__ = ["EventSource", "http_event", "load_handler", "send"]


@dataclass
class EventSource:
    """Plays Lambda's SQS event source mapping against moto: receive a batch, invoke, delete what
    succeeded, make what failed visible again (so SQS counts receives and redrives to the DLQ)."""

    queue_url: str
    queue_arn: str
    handler: Callable[[dict[str, Any], Any], dict[str, Any]]
    context: Any

    @classmethod
    def for_queue(cls, template: Any, logical_id: str, handler: Any, context: Any) -> EventSource:
        return cls(template.ref(logical_id), template.arn(logical_id), handler, context)

    def receive(self, limit: int = 10) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        messages = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=limit,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return [sqs_record(m, queue_arn=self.queue_arn, region="eu-west-1") for m in messages]

    def deliver(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Invoke the handler with these records; settle them as the event source would."""
        response = self.handler({"Records": records}, self.context)
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        sqs = boto3.client("sqs")
        for record in records:
            if record["messageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"])
        return response

    def drain(self, rounds: int = 10) -> list[dict[str, Any]]:
        """Deliver batches until the queue is empty (or `rounds` ran); returns every response."""
        responses = []
        for _ in range(rounds):
            records = self.receive()
            if not records:
                break
            responses.append(self.deliver(records))
        return responses


def send(queue_url: str, body: dict[str, Any] | str) -> str:
    """Put one message on a queue; returns its id."""
    text = body if isinstance(body, str) else json.dumps(body)
    return str(boto3.client("sqs").send_message(QueueUrl=queue_url, MessageBody=text)["MessageId"])


def http_event(
    method: str,
    path: str,
    *,
    body: dict[str, Any] | str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    route: str | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as an IAM-authorized route receives it."""
    return shared_http_event(
        method,
        path,
        body=body,
        headers={"content-type": "application/json", **(headers or {})},
        query=query or "",
        route=route,
        base64_body=base64_body,
        iam=True,
    )
