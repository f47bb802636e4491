"""SES feedback from EventBridge's default bus: hard bounces and complaints suppress at once, soft bounces
after a few."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import UpdateError

from crm_core import clock
from crm_core.messaging import Outcome, Outgoing, deliver, suppressions
from crm_core.models import contact_id_for
from crm_core.models.messages import Suppression
from infra.local.events import ses_event
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


CONFIGURATION_SET = "crm-local-SesConfigurationSet"


def bus_event(record: Any) -> dict[str, Any]:
    """The event EventBridge's default bus delivers for one SES record, built by the local stack. A
    record SES never publishes (not an object, no known type) rides in a Bounce event's detail as is."""

    def built(of: Any) -> dict[str, Any]:
        return ses_event(of, configuration_set=CONFIGURATION_SET, at=clock.now(), region="eu-west-1")

    try:
        return built(record)
    except ValueError:
        return {**built({"eventType": "Bounce"}), "detail": record}


@pytest.fixture
def handler(stack, frozen_clock, lambda_context):
    """Handle each record as its own EventBridge event (one per invocation); the summed counts."""
    module = load_handler("handle_ses_notifications")

    def handle(*records: Any) -> dict[str, int]:
        total: Counter[str] = Counter()
        for record in records:
            total.update(module.lambda_handler(bus_event(record), lambda_context))
        return dict(total)

    return handle


def scope_of(address: str) -> str | None:
    item = suppressions.suppression_for(address)
    return None if item is None else item.scope


def test_a_hard_bounce_suppresses_the_address_for_every_kind_of_mail(handler) -> None:
    event = example("bounce-permanent.json")
    assert handler(event) == {"hard_bounces": 1, "suppressed": 1}
    assert handler(event) == {"hard_bounces": 1}  # delivered again: nothing changes

    item = Suppression.get("nobody@example.com")
    assert (item.scope, item.reason, item.contact_id) == (
        "all",
        "bounce",
        contact_id_for("nobody@example.com"),
    )
    receipt = Outgoing(contact_id_for("nobody@example.com"), "nobody@example.com", "receipt", "1", "x", "en")
    assert deliver(receipt).outcome is Outcome.SUPPRESSED


def test_a_complaint_in_the_event_publishing_format_suppresses_the_address(handler) -> None:
    assert handler(example("complaint-event.json")) == {"complaints": 1, "suppressed": 1}
    assert (Suppression.get("angry@example.com").scope, Suppression.get("angry@example.com").reason) == (
        "all",
        "complaint",
    )


def test_a_complaint_report_that_says_not_spam_suppresses_nothing(handler) -> None:
    not_spam = example("complaint-event.json", **{"complaint.complaintFeedbackType": "not-spam"})
    assert handler(not_spam) == {"not_spam": 1}
    assert scope_of("angry@example.com") is None


def test_soft_bounces_suppress_only_after_the_limit_and_count_each_notification_once(handler) -> None:
    def soft(n: int) -> dict[str, Any]:
        return example("bounce-transient-event.json", **{"bounce.feedbackId": f"fb-{n}"})

    handler(soft(1), soft(2))
    handler(soft(2))  # redelivered
    assert scope_of("full@example.com") == "none"
    assert Suppression.get("full@example.com").transient_bounces == 2

    assert handler(soft(3)) == {"soft_bounces": 1, "suppressed": 1}  # TRANSIENT_BOUNCE_LIMIT=3
    item = Suppression.get("full@example.com")
    assert (item.scope, item.reason) == ("all", "transient-bounces")


def test_a_delivery_forgives_earlier_soft_bounces(handler) -> None:
    handler(example("bounce-transient-event.json"))
    assert scope_of("full@example.com") == "none"

    assert handler(example("delivery.json")) == {"deliveries": 1}
    assert scope_of("full@example.com") is None


def test_unreadable_and_other_notifications_are_skipped_without_failing(handler) -> None:
    subscribed = {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "You have subscribed"}
    opened = {
        "eventType": "Open",
        "mail": {"messageId": "m-1"},
        "open": {"timestamp": "2026-11-23T10:00:00Z"},
    }
    bounce_without_body = {"eventType": "Bounce"}

    result = handler("not json at all", {"hello": "world"}, bounce_without_body, subscribed, opened)
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
        handler(example("bounce-permanent.json"))

    assert handler(example("bounce-permanent.json")) == {"hard_bounces": 1, "suppressed": 1}


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
    assert handler(*shapes) == {"unreadable": 5}  # nothing raised: no retry, no failure queue
    assert list(Suppression.scan()) == []


def test_a_replayed_old_delivery_does_not_forgive_a_newer_soft_bounce(handler) -> None:
    bounce = example("bounce-transient-event.json", **{"bounce.timestamp": "2026-11-23T10:06:12.101Z"})
    old_delivery = example("delivery.json", **{"delivery.timestamp": "2026-11-23T09:00:00.000Z"})
    new_delivery = example("delivery.json", **{"delivery.timestamp": "2026-11-23T11:00:00.000Z"})

    handler(bounce)
    assert handler(old_delivery) == {"deliveries": 1}  # an earlier event, delivered late
    assert Suppression.get("full@example.com").transient_bounces == 1

    handler(new_delivery)
    assert scope_of("full@example.com") is None
