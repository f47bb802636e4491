"""SNS topics (`SNS` events): publish, then deliver to every subscribed function."""

from __future__ import annotations

from typing import Any

from crm_core import clock
from infra.local import events
from infra.local.runtime import Runtime
from infra.local.triggers.lookup import NotFoundError, arn_index
from infra.template import Template


class Topics:
    """SNS topics: publish, then deliver to every function subscribed by a `Type: SNS` event."""

    def __init__(self, template: Template, runtime: Runtime, sns: Any) -> None:
        self.template, self.runtime, self.sns = template, runtime, sns
        by_arn = arn_index(template, "AWS::SNS::Topic")
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
        found = arn_index(self.template, "AWS::SNS::Topic").get(arn)
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
