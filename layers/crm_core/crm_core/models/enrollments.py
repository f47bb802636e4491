"""Enrollments: a contact's place in a campaign (welcome, post-purchase, win-back).

Due steps are found through a sparse index sharded by `due_shard`, so the every-five-minutes
sender queries `due_shard = s AND due_at <= now` for each shard instead of scanning anything.
An enrollment that has finished or exited drops its `due_shard` and leaves the index.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from crm_core.models.base import SettingsTableName, register
from crm_core.sharding import shard_of

DUE_SHARDS = 8


def due_shard(contact_id: str) -> str:
    """The index partition of a contact's due steps."""
    return str(shard_of(contact_id, DUE_SHARDS))


class DueIndex(GlobalSecondaryIndex["Enrollment"]):
    """Active enrollments by due time, sharded so no partition gets hot."""

    class Meta:
        index_name = "due"
        projection = AllProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)  # ISO 8601 UTC, sortable


@register
class Enrollment(Model):
    """One contact in one campaign run; `enrollment_key` is "campaign" or "campaign#occurrence"."""

    class Meta:
        table_name = SettingsTableName("enrollments_table")

    contact_id = UnicodeAttribute(hash_key=True)
    enrollment_key = UnicodeAttribute(range_key=True)
    campaign = UnicodeAttribute()
    status = UnicodeAttribute()  # "active" | "completed" | "exited" (exit_reason says why)
    step = NumberAttribute(default=0)  # index of the next step to send
    enrolled_at = UTCDateTimeAttribute()
    due_at = UnicodeAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)
    exit_reason = UnicodeAttribute(null=True)
    last_step_at = UTCDateTimeAttribute(null=True)  # when the previous step was sent or skipped (min_gap)
    finished_at = UTCDateTimeAttribute(null=True)  # when it completed or exited
    context = UnicodeAttribute(null=True)  # JSON of what the campaign's templates may use (order id ...)

    due_index = DueIndex()
