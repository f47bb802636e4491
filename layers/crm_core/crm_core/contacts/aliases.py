"""Where a contact id that was re-keyed now points, for links mailed before (unsubscribe, consent
confirmation, survey answers): they carry the id the contact had when they were sent.

The keyed-ids migration (crm_core.migrations.m0001_keyed_contact_ids) leaves one alias item per moved
contact in the messages table, keyed `alias#` + a keyed hash of the old id (HMAC with the identity key:
the item never holds the old id, which a list of addresses could reverse), holding the new id, with a
DynamoDB TTL (`expires_at`) of ALIAS_DAYS. Token verification resolves a token's id through it.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

from crm_core import aws, clock
from crm_core.contacts.identity import keyed_digest
from crm_core.settings import get_settings

ALIAS_PREFIX = "alias#"
# Links already sent stay good this long: unsubscribe links must work for at least 30 days after a
# message (CAN-SPAM, RFC 8058 asks for no expiry); a year covers a yearly greeting's link too.
ALIAS_DAYS = 400


def alias_key(old_id: str, *, key: bytes | None = None) -> str:
    """The messages-table key of the alias of `old_id`: `alias#` + a keyed hash of it (never the id)."""
    digest = keyed_digest(b"alias\x00" + old_id.encode("utf-8"), key=key)
    return ALIAS_PREFIX + base64.b32encode(digest).decode("ascii").lower().rstrip("=")[:32]


def alias_item(old_id: str, new_id: str, at: datetime, *, key: bytes | None = None) -> dict[str, Any]:
    """The alias item (plain values) pointing links that carry `old_id` to `new_id`, expiring with them."""
    return {
        "message_key": alias_key(old_id, key=key),
        "kind": "alias",
        "current_id": new_id,
        "expires_at": int((at + timedelta(days=ALIAS_DAYS)).timestamp()),
    }


def current_id(contact_id: str) -> str:
    """The id a contact has now: `contact_id`, or the id it was re-keyed to while its alias lives.

    Costs one GetItem on the messages table. Raises botocore's ClientError when the table or the
    identity key cannot be read.
    """
    answer = aws.dynamodb().get_item(
        TableName=get_settings().messages_table,
        Key={"message_key": {"S": alias_key(contact_id)}},
        ConsistentRead=False,  # an alias is written once, before the links that need it can be followed
    )
    item = answer.get("Item")
    if not item or int(item["expires_at"]["N"]) <= clock.now().timestamp():  # TTL deletes late
        return contact_id
    return str(item["current_id"]["S"])
