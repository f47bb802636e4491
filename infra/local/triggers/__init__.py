"""Runners for every trigger but HTTP, one module each: schedules, SQS queues, SNS topics, EventBridge
buses, S3 buckets, SES inbound and async destinations.

All of them read the template's `Events` (and receipt rules): nothing is listed twice.
"""

from infra.local.triggers.buckets import Buckets
from infra.local.triggers.buses import Buses, matches
from infra.local.triggers.destinations import destination_sender
from infra.local.triggers.inbox import Inbox, _rule_accepts
from infra.local.triggers.lookup import NotFoundError
from infra.local.triggers.queues import Consumer, QueueInfo, Queues, _failed_ids
from infra.local.triggers.schedules import AutoScheduler, Schedule, Schedules
from infra.local.triggers.topics import Topics

__all__ = [
    "AutoScheduler",
    "Buckets",
    "Buses",
    "Consumer",
    "Inbox",
    "NotFoundError",
    "QueueInfo",
    "Queues",
    "Schedule",
    "Schedules",
    "Topics",
    "_failed_ids",  # tests of the SQS failure rules
    "_rule_accepts",  # tests of the receipt rules' recipient matching
    "destination_sender",
    "matches",
]
