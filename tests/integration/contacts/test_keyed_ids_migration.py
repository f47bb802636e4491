"""Migration 0001-0009: a stack that a previous release filled under plain-hash contact ids is re-keyed.

Given one person with something in every store (the data-rights fixture: lead, messages, enrollments, a
case with its links, points, value and lifecycle, a survey answer with its case, owner, task, note, a
suppression, an export request), first moved back to the ids a previous release gave (every table,
derived index shards included), the migration runs: crashed midway, resumed, then run again from scratch
(which changes nothing). Afterwards a full read of every table finds no old id, the contact 360 under the
new id shows everything, and an unsubscribe link mailed before still unsubscribes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from crm_core import aws
from crm_core.contacts import aliases
from crm_core.messaging import suppressions, tokens
from crm_core.messaging.delivery import UNSUBSCRIBE_PURPOSE, unsubscribe_url
from crm_core.migrations import DONE, Pace, Runner
from crm_core.migrations import m0001_keyed_contact_ids as m0001
from crm_core.migrations.registry import MIGRATIONS
from crm_core.models import Contact
from crm_core.models.contacts import occasion_day
from crm_core.privacy import registry
from tests.helpers import http_event, load_handler
from tests.integration.contacts.test_data_rights import (
    EMAIL,
    _everything,
    _privacy,
    person,  # noqa: F401 - the fixture: one person in every store
)


@pytest.fixture(autouse=True)
def _fresh_map() -> Iterator[None]:
    m0001.forget()
    yield
    m0001.forget()


def _tables(stack: Any) -> dict[str, str]:
    return {name: value for name, value in stack.env.items() if name.endswith("_TABLE")}


def _key_attributes(table: str) -> list[str]:
    schema = boto3.client("dynamodb").describe_table(TableName=table)["Table"]["KeySchema"]
    return [k["AttributeName"] for k in sorted(schema, key=lambda k: k["KeyType"] != "HASH")]


def _as_a_previous_release_stored_it(stack: Any, new_id: str, old_id: str) -> None:
    """Move every item of the person back to the old id (the migration's own rewrite, the other way)."""
    client = aws.dynamodb()
    m0001._mapping.update({new_id: old_id})
    for migration in MIGRATIONS:
        table = stack.env[migration.table]
        keys = _key_attributes(table)
        for page in client.get_paginator("scan").paginate(TableName=table):
            for raw in page["Items"]:
                item = aws.from_dynamodb(raw)
                change = migration.rekey(item) if migration.rekey else None
                if change is None:
                    continue
                client.put_item(TableName=table, Item=aws.to_dynamodb(dict(change.item)))
                if any(change.item[k] != item[k] for k in keys):
                    client.delete_item(TableName=table, Key={k: raw[k] for k in keys})
    m0001.forget()


class CrashingClient:
    """The real client, whose `fail_at`-th TransactWriteItems raises (the operator's laptop slept)."""

    def __init__(self, fail_at: int) -> None:
        self.real, self.transactions, self.fail_at = aws.dynamodb(), 0, fail_at

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)
        if name != "transact_write_items":
            return method

        def counted(**kwargs: Any) -> Any:
            self.transactions += 1
            if self.transactions == self.fail_at:
                raise ConnectionError("the operator's laptop went to sleep")
            return method(**kwargs)

        return counted


def _contact_360(contact_id: str, lambda_context: Any) -> tuple[int, dict[str, Any]]:
    event = http_event("GET", f"/contacts/{contact_id}", route="GET /contacts/{contact_id}", iam=True)
    answer = load_handler("serve_contacts").lambda_handler(event, lambda_context)
    return answer["statusCode"], json.loads(answer["body"])


def test_every_store_moves_to_the_keyed_ids_and_old_links_still_work(
    person: str,  # noqa: F811 - the fixture imported above
    stack: Any,
    template: Any,
    lambda_context: Any,
) -> None:
    new_id, old_id = person, m0001.plain_contact_id(EMAIL)
    path, route = f"/contacts/{new_id}/export", "POST /contacts/{contact_id}/export"
    assert _privacy("POST", path, route, lambda_context)[0] == 202  # the privacy store has a request too
    stored = [s.setting.upper() for s in registry.STORES if s.kind == registry.TABLE]
    assert sorted(m.table for m in MIGRATIONS) == sorted(stored)  # every table of the registry, once
    _as_a_previous_release_stored_it(stack, new_id, old_id)
    before = _everything(template)
    assert old_id in before and new_id not in before
    old_link = unsubscribe_url(old_id, "welcome.tips")  # mailed by the previous release
    assert tokens.verify(old_link.split("token=")[1], UNSUBSCRIBE_PURPOSE)["c"] == old_id

    fast = Pace(page_size=5, units_per_second=1e6)
    with pytest.raises(ConnectionError):
        Runner(CrashingClient(fail_at=6), _tables(stack), pace=fast, sleep=lambda _: None).run_pending(
            MIGRATIONS
        )
    runner = Runner(aws.dynamodb(), _tables(stack), pace=fast, sleep=lambda _: None)
    outcomes = runner.run_pending(MIGRATIONS)  # resumes after the crash
    assert [o.progress.status for o in outcomes] == [DONE] * len(MIGRATIONS)
    assert sum(o.progress.rewritten for o in outcomes) > 0
    migrated = _everything(template)

    for migration in MIGRATIONS:  # run everything again from the start: nothing left to move
        aws.dynamodb().delete_item(
            TableName=stack.env["MESSAGES_TABLE"], Key={"message_key": {"S": migration.key}}
        )
    again = runner.run_pending(MIGRATIONS)
    assert [o.progress.rewritten for o in again] == [0] * len(MIGRATIONS)
    assert _strip_progress(_everything(template)) == _strip_progress(migrated)

    assert old_id not in migrated and new_id in migrated
    assert aliases.alias_key(old_id) in migrated  # the alias is a keyed hash of the old id, never the id
    contact = Contact.get(new_id, consistent_read=True)
    assert contact.birthday_day == occasion_day("1980-05-17", new_id)  # the index shards follow the id
    status, view = _contact_360(new_id, lambda_context)
    assert status == 200 and view["contact_id"] == new_id
    assert view["messages"]["items"] and view["cases"]["items"] and view["loyalty"]["entries"]["items"]
    assert view["enrollments"] and view["owner"] and view["open_tasks"]
    assert suppressions.suppression_for(EMAIL).contact_id == new_id
    assert any(line["type"] == "note" for line in view["timeline"])
    assert _contact_360(old_id, lambda_context)[0] == 404

    parts = urlsplit(old_link)
    unsubscribe = load_handler("unsubscribe").lambda_handler
    done = unsubscribe(http_event("POST", parts.path, query=parts.query, body=b""), lambda_context)
    assert done["statusCode"] == 200
    assert Contact.get(new_id, consistent_read=True).marketing_opt_out


def _strip_progress(text: str) -> str:
    """The full read without the runner's own progress items (their times differ between runs)."""
    return "\n".join(line for line in text.splitlines() if "migration#" not in line)
