"""The owners table: a contact's account owner, tasks and notes, keyed by contact id (one partition each).

| item | pk | sk |
|---|---|---|
| owner assignment | `contact#<contact id>` | `owner` |
| task | `contact#<contact id>` | `task#<task id>` |
| note | `contact#<contact id>` | `note#<at>#<note id>` (sortable by time: the timeline) |
| round-robin counter | `rr#<team>` | `counter` |

So the contact 360 reads owner, tasks and notes with one Query on `contact#<id>`, and erasure deletes
one partition. Two sparse indexes serve the owners' side: `by-owner` (owner_key, contact_id) holds only
assignments (an owner's book of customers), `open-tasks` (open_owner, due) only open tasks (what an
owner must do by a day). A task leaves `open-tasks` when it is completed.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection.table import TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from crm_core.models.base import SettingsTableName, register

OWNER_SK = "owner"
COUNTER_SK = "counter"


def contact_pk(contact_id: str) -> str:
    """The owners table's partition key of a contact."""
    return f"contact#{contact_id}"


class ByOwnerIndex(GlobalSecondaryIndex["OwnerAssignment"]):
    """The contacts of one owner."""

    class Meta:
        index_name = "by-owner"
        projection = KeysOnlyProjection()

    owner_key = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute(range_key=True)


class OpenTasksIndex(GlobalSecondaryIndex["Task"]):
    """Open tasks of one owner, by due day."""

    class Meta:
        index_name = "open-tasks"
        projection = AllProjection()

    open_owner = UnicodeAttribute(hash_key=True)
    due = UnicodeAttribute(range_key=True)


@register
class OwnerAssignment(Model):
    """Who owns the relationship with a contact, and who decided it (an agent, a rule, round-robin)."""

    class Meta:
        table_name = SettingsTableName("owners_table")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=OWNER_SK)
    contact_id = UnicodeAttribute()
    owner_key = UnicodeAttribute()  # the staff member's id (by-owner index)
    set_by = UnicodeAttribute()  # "agent:<who>" | "rule:<rule name>" | "round-robin:<team>"
    at = UnicodeAttribute()

    by_owner = ByOwnerIndex()


@register
class Task(Model):
    """A personal follow-up: call, congratulate, check on a complaint, by a day, for an owner."""

    class Meta:
        table_name = SettingsTableName("owners_table")

    # Its own connection: pynamodb knows a table's indexes from the model that opened the connection.
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "task#<task id>"
    task_id = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    owner = UnicodeAttribute()
    due = UnicodeAttribute()  # "YYYY-MM-DD", the owner's local day
    note = UnicodeAttribute(default="")
    status = UnicodeAttribute()  # "open" | "done"
    created_by = UnicodeAttribute()  # "api" | "rule:<kind>"
    created_at = UnicodeAttribute()
    fingerprint = UnicodeAttribute()  # of the request that created it: a reused key with other content is 409
    completed_at = UnicodeAttribute(null=True)
    snoozed_from = UnicodeAttribute(null=True)  # the due day before the latest snooze
    snoozes = NumberAttribute(default=0)
    open_owner = UnicodeAttribute(null=True)  # = owner while open (open-tasks index)

    open_tasks = OpenTasksIndex()


@register
class Note(Model):
    """A line in the contact's timeline written by a member of staff."""

    class Meta:
        table_name = SettingsTableName("owners_table")

    @classmethod
    def _get_connection(cls) -> TableConnection:
        return OwnerAssignment._get_connection()

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "note#<at>#<note id>"
    note_id = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    text = UnicodeAttribute()
    author = UnicodeAttribute()
    at = UnicodeAttribute()
    fingerprint = UnicodeAttribute()


@register
class RoundRobin(Model):
    """The turn counter of a team's round-robin assignment."""

    class Meta:
        table_name = SettingsTableName("owners_table")

    @classmethod
    def _get_connection(cls) -> TableConnection:
        return OwnerAssignment._get_connection()

    pk = UnicodeAttribute(hash_key=True)  # "rr#<team>"
    sk = UnicodeAttribute(range_key=True, default=COUNTER_SK)
    turns = NumberAttribute(default=0)
