"""SES feedback through SNS: hard bounces and complaints suppress at once, soft bounces after a few."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import UpdateError

from crm_core.messaging import Outcome, Outgoing, deliver, suppressions
from crm_core.models import contact_id_for
from crm_core.models.messages import Suppression
from infra.template import ROOT
from tests.followups_kit import load_handler

EXAMPLES = ROOT / "examples" / "ses-notifications"


def example(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    for path, value in changes.items():
        node = data
        *parents, leaf = path.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return data


def sns_event(*messages: dict[str, Any] | str) -> dict[str, Any]:
    """An SNS event as Lambda receives it from a topic subscription."""
    topic = "arn:aws:sns:eu-west-1:123456789012:crm-local-SesFeedbackTopic"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": f"95df01b4-ee98-5cb9-9903-4c221d41eb5{i}",
                    "TopicArn": topic,
                    "Subject": None,
                    "Message": message if isinstance(message, str) else json.dumps(message),
                    "Timestamp": "2026-11-23T10:05:02.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000.pem",
                    "UnsubscribeUrl": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
            for i, message in enumerate(messages)
        ]
    }


@pytest.fixture
def handler(stack, frozen_clock, lambda_context):
    module = load_handler("handle_ses_notifications")
    return lambda event: module.lambda_handler(event, lambda_context)


def scope_of(address: str) -> str | None:
    item = suppressions.suppression_for(address)
    return None if item is None else item.scope


def test_a_hard_bounce_suppresses_the_address_for_every_kind_of_mail(handler) -> None:
    event = sns_event(example("bounce-permanent.json"))
    assert handler(event) == {"hard_bounces": 1, "suppressed": 1}
    assert handler(event) == {"hard_bounces": 1}  # SNS redelivered it: nothing changes

    item = Suppression.get("nobody@example.com")
    assert (item.scope, item.reason, item.contact_id) == (
        "all",
        "bounce",
        contact_id_for("nobody@example.com"),
    )
    receipt = Outgoing(contact_id_for("nobody@example.com"), "nobody@example.com", "receipt", "1", "x", "en")
    assert deliver(receipt).outcome is Outcome.SUPPRESSED


def test_a_complaint_in_the_event_publishing_format_suppresses_the_address(handler) -> None:
    assert handler(sns_event(example("complaint-event.json"))) == {"complaints": 1, "suppressed": 1}
    assert (Suppression.get("angry@example.com").scope, Suppression.get("angry@example.com").reason) == (
        "all",
        "complaint",
    )


def test_a_complaint_report_that_says_not_spam_suppresses_nothing(handler) -> None:
    not_spam = example("complaint-event.json", **{"complaint.complaintFeedbackType": "not-spam"})
    assert handler(sns_event(not_spam)) == {"not_spam": 1}
    assert scope_of("angry@example.com") is None


def test_soft_bounces_suppress_only_after_the_limit_and_count_each_notification_once(handler) -> None:
    def soft(n: int) -> dict[str, Any]:
        return example("bounce-transient-event.json", **{"bounce.feedbackId": f"fb-{n}"})

    handler(sns_event(soft(1), soft(2)))
    handler(sns_event(soft(2)))  # redelivered
    assert scope_of("full@example.com") == "none"
    assert Suppression.get("full@example.com").transient_bounces == 2

    assert handler(sns_event(soft(3))) == {"soft_bounces": 1, "suppressed": 1}  # TRANSIENT_BOUNCE_LIMIT=3
    item = Suppression.get("full@example.com")
    assert (item.scope, item.reason) == ("all", "transient-bounces")


def test_a_delivery_forgives_earlier_soft_bounces(handler) -> None:
    handler(sns_event(example("bounce-transient-event.json")))
    assert scope_of("full@example.com") == "none"

    assert handler(sns_event(example("delivery.json"))) == {"deliveries": 1}
    assert scope_of("full@example.com") is None


def test_unreadable_and_other_notifications_are_skipped_without_failing(handler) -> None:
    subscribed = {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "You have subscribed"}
    opened = {
        "eventType": "Open",
        "mail": {"messageId": "m-1"},
        "open": {"timestamp": "2026-11-23T10:00:00Z"},
    }
    bounce_without_body = {"eventType": "Bounce"}

    result = handler(
        sns_event("not json at all", {"hello": "world"}, bounce_without_body, subscribed, opened)
    )
    assert result == {"unreadable": 3, "ignored": 2}
    assert list(Suppression.scan()) == []  # nothing was suppressed (a test may scan)


def test_a_dynamodb_fault_fails_the_invocation_so_lambda_retries_it(handler) -> None:
    # moto does not throttle: this fake raises what pynamodb raises when DynamoDB does.
    throttled = UpdateError(
        "Failed to update item",
        cause=ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            "UpdateItem",
        ),
    )
    with mock.patch.object(Suppression, "update", side_effect=throttled), pytest.raises(UpdateError):
        handler(sns_event(example("bounce-permanent.json")))

    assert handler(sns_event(example("bounce-permanent.json"))) == {"hard_bounces": 1, "suppressed": 1}


def test_every_example_notification_parses() -> None:
    from crm_core.messaging.feedback import parse

    kinds = {path.name: parse(path.read_text()).kind for path in sorted(Path(EXAMPLES).glob("*.json"))}
    assert kinds == {
        "bounce-permanent.json": "Bounce",
        "bounce-transient-event.json": "Bounce",
        "complaint-event.json": "Complaint",
        "delivery.json": "Delivery",
    }


def test_notifications_of_an_unexpected_shape_are_dropped_with_a_reason_not_retried(handler) -> None:
    shapes = [
        {"notificationType": "Bounce", "bounce": "not an object", "mail": {}},
        {
            "eventType": "Bounce",
            "bounce": {"bouncedRecipients": {"emailAddress": "x@example.com"}},
            "mail": {},
        },
        {"eventType": "Delivery", "delivery": {"recipients": ["a@example.com"]}, "mail": ["list"]},
        {"eventType": ["Bounce"]},
        "[" * 100_000,  # nests deeper than json's recursion limit
    ]
    assert handler(sns_event(*shapes)) == {"unreadable": 5}  # nothing raised: no retry, no failure queue
    assert list(Suppression.scan()) == []


def test_a_replayed_old_delivery_does_not_forgive_a_newer_soft_bounce(handler) -> None:
    bounce = example("bounce-transient-event.json", **{"bounce.timestamp": "2026-11-23T10:06:12.101Z"})
    old_delivery = example("delivery.json", **{"delivery.timestamp": "2026-11-23T09:00:00.000Z"})
    new_delivery = example("delivery.json", **{"delivery.timestamp": "2026-11-23T11:00:00.000Z"})

    handler(sns_event(bounce))
    assert handler(sns_event(old_delivery)) == {"deliveries": 1}  # SNS replays an earlier notification
    assert Suppression.get("full@example.com").transient_bounces == 1

    handler(sns_event(new_delivery))
    assert scope_of("full@example.com") is None
