"""Contact ids in logs and links name nobody: they are a keyed hash of the address (the stack's identity
key), so hashing a list of addresses finds no one in a log line or an unsubscribe link."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crm_core import aws
from crm_core.campaigns import sender
from crm_core.contacts import aliases
from crm_core.contacts.identity import normalize_email
from crm_core.models import contact_id_for
from tests.helpers import http_event, load_handler, outbox

ADDRESS = "Ana.Rossi@Example.com"


def _plain_sha256_id(address: str) -> str:
    """What an id used to be, and what anyone with the address can compute."""
    digest = hashlib.sha256(normalize_email(address).encode("utf-8")).digest()
    return "ct_" + base64.b32encode(digest).decode("ascii").lower().rstrip("=")[:26]


def _token_payload(url: str) -> dict[str, Any]:
    token = parse_qs(urlsplit(url).query)["token"][0]
    body = token.split(".")[-2]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def test_log_lines_and_unsubscribe_links_carry_only_the_keyed_id(
    stack: Any, frozen_clock: Any, lambda_context: Any, caplog: Any
) -> None:
    form = {"email": ADDRESS, "first_name": "Ana", "consent": "yes"}
    answer = load_handler("capture_lead").lambda_handler(
        http_event("POST", "/leads", body=form), lambda_context
    )
    sender.run()  # the welcome
    frozen_clock.advance(timedelta(days=2, hours=1))
    sender.run()  # the tips: a marketing message, with an unsubscribe link

    contact_id = contact_id_for(ADDRESS)
    assert json.loads(answer["body"])["contact_id"] == contact_id
    tips = next(m for m in outbox(stack) if "List-Unsubscribe" in m.headers)
    link = tips.unsubscribe_url
    assert _token_payload(link)["c"] == contact_id  # the link names the contact by its keyed id
    logs = "\n".join(str(vars(record)) for record in caplog.records)  # each line with its extra keys
    assert contact_id in logs  # log lines correlate by contact id...
    everything = "\n".join([logs, link, tips.text, tips.html, *tips.headers.values()])
    assert _plain_sha256_id(ADDRESS) not in everything  # ...which hashing the address does not give
    assert normalize_email(ADDRESS) not in logs.lower()


def test_an_alias_points_an_old_id_to_the_new_one_until_it_expires(stack: Any, frozen_clock: Any) -> None:
    old, new = _plain_sha256_id(ADDRESS), contact_id_for(ADDRESS)
    item = aliases.alias_item(old, new, frozen_clock.now())
    aws.dynamodb().put_item(TableName=stack.env["MESSAGES_TABLE"], Item=aws.to_dynamodb(item))

    assert old not in json.dumps(item)  # keyed by a hash of the old id, never the id itself
    assert aliases.current_id(old) == new
    assert aliases.current_id(new) == new  # an id without an alias is itself
    frozen_clock.advance(timedelta(days=aliases.ALIAS_DAYS, seconds=1))
    assert aliases.current_id(old) == old  # expired (DynamoDB's TTL deletes it late: the code checks too)
