"""SES inbound: the template's receipt rules applied to a message, action by action."""

from __future__ import annotations

import json
from typing import Any

from crm_core import clock
from infra.local import events
from infra.local.runtime import Runtime
from infra.local.triggers.buckets import Buckets
from infra.local.triggers.lookup import NotFoundError
from infra.local.triggers.topics import Topics
from infra.template import Template


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
