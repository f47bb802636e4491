"""Cases: one DynamoDB table (single-table design) for cases, their events, message links and ack windows.

Why one table: `GET /cases/{id}` is one Query on the case's partition (the case item plus its
events, in time order), and the writes that must happen together when mail arrives (the message
link that makes a replay harmless, the event, the case) are one transaction on one table.

| item | pk | sk |
|---|---|---|
| case | `C-7Q4M2X` | `case` |
| event | `C-7Q4M2X` | `event#2026-11-23T10:00:00.000Z#inbound#<id>` (sortable by time) |
| message link | `msg#<message id>` | `link` (inbound ids: replays are harmless; outbound: replies thread) |
| ack window | `ackrate#<contact id>` | `sliding` (acks of the last hour: case id -> when; TTL) |

Indexes (sparse: only case items carry their keys): `by-contact` (contact_id, opened_at),
`by-status` (status, updated_at) and `sla-due` (due_shard, due_at), which the escalator queries
shard by shard for `due_at <= now`. A case leaves `sla-due` while its clock is paused or stopped.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection.table import TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from crm_core.models.base import SettingsTableName, register
from crm_core.sharding import shard_of

CASE_SK = "case"
LINK_SK = "link"
ACK_WINDOW_SK = "sliding"
SLA_SHARDS = 4


def sla_shard(case_id: str) -> str:
    """The `sla-due` index partition of a case."""
    return str(shard_of(case_id, SLA_SHARDS))


class ByContactIndex(GlobalSecondaryIndex["Case"]):
    """Cases of one contact, by opening time."""

    class Meta:
        index_name = "by-contact"
        projection = AllProjection()

    contact_id = UnicodeAttribute(hash_key=True)
    opened_at = UnicodeAttribute(range_key=True)


class ByStatusIndex(GlobalSecondaryIndex["Case"]):
    """Cases in one status, by last update."""

    class Meta:
        index_name = "by-status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    updated_at = UnicodeAttribute(range_key=True)


class SlaDueIndex(GlobalSecondaryIndex["Case"]):
    """Open cases by their next SLA checkpoint, sharded so no partition gets hot."""

    class Meta:
        index_name = "sla-due"
        projection = AllProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


@register
class Case(Model):
    """A customer's complaint or request, from its first email to its resolution.

    status: `open`, `waiting` (on the customer: SLA clock paused), `resolved`, `quarantined`
    (spam, virus, automated or unreadable mail: never acknowledged or routed until an agent opens it).
    Instants are ISO 8601 UTC strings with milliseconds ("2026-11-23T10:00:00.000Z"), sortable.
    """

    class Meta:
        table_name = SettingsTableName("cases_table")

    case_id = UnicodeAttribute(hash_key=True, attr_name="pk")
    sort_key = UnicodeAttribute(range_key=True, attr_name="sk", default=CASE_SK)  # always "case"
    contact_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(default="")
    status = UnicodeAttribute()
    category = UnicodeAttribute(default="other")
    team = UnicodeAttribute()
    priority = UnicodeAttribute()
    rule = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(null=True)
    tier = UnicodeAttribute(null=True)
    vip = BooleanAttribute(default=False)
    most_valuable = BooleanAttribute(null=True)  # the contact was in the top share by value when it opened
    unverified = BooleanAttribute(default=False)
    quarantine_reason = UnicodeAttribute(null=True)
    source_message = UnicodeAttribute()  # SES message id of the first email
    last_message_id = UnicodeAttribute(null=True)  # Message-ID of the customer's latest email
    opened_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    first_response_due = UnicodeAttribute(null=True)
    resolution_due = UnicodeAttribute(null=True)
    first_responded_at = UnicodeAttribute(null=True)
    resolved_at = UnicodeAttribute(null=True)
    paused_at = UnicodeAttribute(null=True)
    sla_marks = UnicodeSetAttribute(null=True)  # "first_response:warning", "resolution:breach:2" ...
    due_shard = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)  # the next SLA checkpoint
    reopened = NumberAttribute(default=0)
    replies_sent = NumberAttribute(default=0)

    by_contact = ByContactIndex()
    by_status = ByStatusIndex()
    sla_due = SlaDueIndex()


@register
class CaseEvent(Model):
    """Something that happened on a case: an email in or out, a status change, an SLA warning."""

    class Meta:
        table_name = SettingsTableName("cases_table")

    @classmethod
    def _get_connection(cls) -> TableConnection:
        return Case._get_connection()  # one table, one client: a client per class costs ~150 ms each

    case_id = UnicodeAttribute(hash_key=True, attr_name="pk")
    event_key = UnicodeAttribute(range_key=True, attr_name="sk")
    kind = UnicodeAttribute()  # inbound | ack | reply | status | sla
    at = UnicodeAttribute()
    message_id = UnicodeAttribute(null=True)  # RFC 5322 Message-ID (ours: the one SES assigned)
    ses_message_id = UnicodeAttribute(null=True)
    from_address = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)
    detail = UnicodeAttribute(null=True)  # JSON: attachments, verdicts, flags, status change ...
    routed = BooleanAttribute(null=True)  # the team was told about it


@register
class CaseLink(Model):
    """A message id (ours or the customer's) that belongs to a case."""

    class Meta:
        table_name = SettingsTableName("cases_table")

    @classmethod
    def _get_connection(cls) -> TableConnection:
        return Case._get_connection()  # one table, one client: a client per class costs ~150 ms each

    key = UnicodeAttribute(hash_key=True, attr_name="pk")  # "msg#<id>"
    sort_key = UnicodeAttribute(range_key=True, attr_name="sk", default=LINK_SK)  # always "link"
    case_id = UnicodeAttribute()
    direction = UnicodeAttribute()  # "in" | "out"
    event_key = UnicodeAttribute(null=True)
    sender = UnicodeAttribute(null=True)  # contact id of the inbound message's sender


@register
class AckWindow(Model):
    """The cases acknowledged to one contact within the last hour (a sliding window, so a burst
    around the turn of a clock hour counts as one hour): the rate limit on acknowledgements.
    Bounded: entries older than the window are dropped on every write, so it holds at most the limit."""

    class Meta:
        table_name = SettingsTableName("cases_table")

    @classmethod
    def _get_connection(cls) -> TableConnection:
        return Case._get_connection()  # one table, one client: a client per class costs ~150 ms each

    key = UnicodeAttribute(hash_key=True, attr_name="pk")  # "ackrate#<contact id>"
    window = UnicodeAttribute(range_key=True, attr_name="sk", default=ACK_WINDOW_SK)
    sent = JSONAttribute(null=True)  # {case id: epoch seconds of its ack}, the last hour only
    revision = NumberAttribute(null=True)  # optimistic lock: each write expects the revision it read
    expires_at = NumberAttribute(null=True)  # TTL
