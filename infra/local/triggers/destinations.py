"""Async invocations' destinations: where an OnSuccess or OnFailure record goes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from infra.local.runtime import Runtime
from infra.local.triggers.topics import Topics


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
