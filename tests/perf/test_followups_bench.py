"""Follow-up sender throughput against moto, beside the floor of the same AWS calls in a bare loop.

Both sides run in this process against the same in-process moto, on their own fresh contacts:
- the sender: `sender.run()` unpaced (rate far above what moto can do), every due welcome step
  handled for real (index query, contact, suppression, claim, render, SES, record, advance);
- the floor: the same DynamoDB and SES calls per message made with bare boto3 clients, the MIME
  built once, no logic, no logging, no pynamodb. No sender can beat it on this machine.
The ratio (sender / floor) is what our code and libraries cost on top of the calls themselves.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from typing import Any

import boto3

from crm_core.campaigns import sender
from crm_core.campaigns.enrollment import enroll
from crm_core.campaigns.pacing import RateLimiter
from crm_core.messaging import mime
from crm_core.models import Contact, contact_id_for
from crm_core.models.contacts import Consent
from crm_core.models.enrollments import DUE_SHARDS
from tests.perf.harness import record

MESSAGES = 60  # per side and round
ROUNDS = 4


def _seed(prefix: str, at: datetime) -> list[str]:
    ids = []
    with Contact.batch_write() as batch:
        for i in range(MESSAGES):
            address = f"{prefix}{i}@example.com"
            ids.append(contact_id_for(address))
            batch.save(
                Contact(
                    ids[-1],
                    email=address,
                    first_name="Ana",
                    locale="en",
                    time_zone="Europe/Rome",
                    consent=Consent(granted=True, at="2026-11-23T10:00:00Z"),
                )
            )
    for contact_id in ids:
        enroll(contact_id, "welcome", at=at)
    return ids


def _floor(ids: list[str], env: dict[str, str], now: str) -> None:
    """The sender's AWS calls for `ids`, and nothing else."""
    ddb, ses = boto3.client("dynamodb"), boto3.client("sesv2")
    raw = mime.build(sender=env["SENDER_ADDRESS"], to="x@example.com", subject="s", text="t", html="<p>h</p>")
    for shard in range(DUE_SHARDS):
        ddb.query(
            TableName=env["ENROLLMENTS_TABLE"],
            IndexName="due",
            KeyConditionExpression="due_shard = :s AND due_at <= :now",
            ExpressionAttributeValues={":s": {"S": str(shard)}, ":now": {"S": now}},
        )
    for contact_id in ids:
        key = {"contact_id": {"S": contact_id}}
        contact = ddb.get_item(TableName=env["CONTACTS_TABLE"], Key=key)["Item"]
        address = contact["email"]["S"]
        ddb.get_item(TableName=env["SUPPRESSIONS_TABLE"], Key={"email": {"S": address}}, ConsistentRead=True)
        message_key = {"message_key": {"S": f"{contact_id}#welcome.hello#welcome"}}
        ddb.put_item(
            TableName=env["MESSAGES_TABLE"],
            Item={**message_key, "status": {"S": "claimed"}, "claimed_at": {"S": now}},
            ConditionExpression="attribute_not_exists(message_key)",
        )
        answer = ses.send_email(
            FromEmailAddress=env["SENDER_ADDRESS"],
            Destination={"ToAddresses": [address]},
            Content={"Raw": {"Data": raw}},
        )
        ddb.update_item(
            TableName=env["MESSAGES_TABLE"],
            Key=message_key,
            UpdateExpression="SET #s = :sent, ses_message_id = :id",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":sent": {"S": "sent"}, ":id": {"S": answer["MessageId"]}},
        )
        ddb.update_item(
            TableName=env["ENROLLMENTS_TABLE"],
            Key={**key, "enrollment_key": {"S": "welcome"}},
            UpdateExpression="SET step = :one, due_at = :next",
            ConditionExpression="step = :zero AND #st = :active",
            ExpressionAttributeNames={"#st": "status"},
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":zero": {"N": "0"},
                ":active": {"S": "active"},
                ":next": {"S": "2026-11-25T10:00:00Z"},
            },
        )


def test_sender_throughput_beside_the_floor_of_its_aws_calls(stack: Any, frozen_clock: Any) -> None:
    # Interleaved rounds, so a machine that slows down mid-run slows both sides alike.
    at = datetime(2026, 11, 23, 10, tzinfo=UTC)
    frozen_clock.set(at)
    floor_rates, sender_rates = [], []
    for round_ in range(ROUNDS):
        floor_ids = _seed(f"floor{round_}-", at)
        started = time.perf_counter()
        _floor(floor_ids, stack.env, "2026-11-23T10:00:00Z")  # moves them past now: the sender skips them
        floor_rates.append(MESSAGES / (time.perf_counter() - started))

        _seed(f"sender{round_}-", at)
        started = time.perf_counter()
        report = sender.run(limiter=RateLimiter(1_000_000))
        sender_rates.append(MESSAGES / (time.perf_counter() - started))
        assert report.outcomes == {"sent": MESSAGES}

    assert len(stack.sent_emails()) == 2 * ROUNDS * MESSAGES
    record(
        "follow-ups",
        "sender messages/s (moto) vs bare calls",
        round(statistics.median(sender_rates), 1),
        baseline=round(statistics.median(floor_rates), 1),
        unit="msg/s",
        target=">= 0.4",
    )
