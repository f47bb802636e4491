"""What an occasions run reads: contact ids from the sparse month-day indexes, the contacts, their ledger.

Every read is a Query on one index partition or a BatchGetItem by key: a run costs in proportion to
the occasions of the month-days in play, never to the size of the contact table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from crm_core import aws
from crm_core.messaging.ledger import message_key
from crm_core.models import Contact, SentMessage
from crm_core.models.contacts import OCCASION_SHARDS
from crm_core.settings import get_settings


class Kind(StrEnum):
    """An occasion; also the ledger's message kind and the template's name."""

    BIRTHDAY = "birthday"
    ANNIVERSARY = "anniversary"


# kind -> (index name, index hash key attribute); taken from the model so the two cannot drift.
_INDEXES = {
    Kind.BIRTHDAY: (Contact.birthday_index.Meta.index_name, "birthday_day"),
    Kind.ANNIVERSARY: (Contact.anniversary_index.Meta.index_name, "anniversary_day"),
}
SETTLED = frozenset({"sent", "skipped"})  # ledger states no later run can change


@dataclass
class Reads:
    """Items a run read, by source: the figure that must follow today's occasions, not the table."""

    index_items: int = 0
    contacts: int = 0
    ledger_items: int = 0
    queries: int = 0

    @property
    def total(self) -> int:
        """Every item read: index entries, contacts and ledger items."""
        return self.index_items + self.contacts + self.ledger_items


def partition_keys(month_day: str) -> list[str]:
    """Every shard of one month-day, as `models.contacts.occasion_day` writes them."""
    return [f"{month_day}#{shard}" for shard in range(OCCASION_SHARDS)]


def contact_ids_on(kind: Kind, month_days: Iterable[str], reads: Reads) -> list[str]:
    """Ids of contacts whose occasion of `kind` is on one of `month_days` (one Query per shard).

    Raises botocore ClientError (throttling included, after the client's own retries).
    """
    index_name, attribute = _INDEXES[kind]
    client, table = aws.dynamodb(), get_settings().contacts_table
    found: dict[str, None] = {}
    for month_day in month_days:
        for key in partition_keys(month_day):
            request: dict[str, Any] = {
                "TableName": table,
                "IndexName": index_name,
                "KeyConditionExpression": "#day = :day",
                "ExpressionAttributeNames": {"#day": attribute},
                "ExpressionAttributeValues": {":day": {"S": key}},
            }
            while True:
                page = client.query(**request)
                reads.queries += 1
                reads.index_items += len(page["Items"])
                found.update((item["contact_id"]["S"], None) for item in page["Items"])
                if "LastEvaluatedKey" not in page:
                    break
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return list(found)


def load_contacts(contact_ids: list[str], reads: Reads) -> Iterator[Contact]:
    """The contacts themselves (BatchGetItem, 100 keys a request); ids deleted meanwhile are skipped."""
    if not contact_ids:
        return
    for contact in Contact.batch_get(contact_ids):
        reads.contacts += 1
        yield contact


def ledger_states(keys: list[tuple[str, str, str]], reads: Reads) -> dict[tuple[str, str, str], str]:
    """The ledger status of each `(contact_id, kind, occurrence)` that has an entry (BatchGetItem)."""
    if not keys:
        return {}
    by_key = {message_key(*key): key for key in keys}
    states: dict[tuple[str, str, str], str] = {}
    for item in SentMessage.batch_get(list(by_key), attributes_to_get=["message_key", "status"]):
        reads.ledger_items += 1
        states[by_key[item.message_key]] = item.status
    return states
