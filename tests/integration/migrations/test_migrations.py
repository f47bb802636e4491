"""An upgrade played on the template's tables: items in a previous release's shape, a migration run twice
(the second a no-op), interrupted between pages and inside a page and resumed, progress recorded.

No stored shape has changed yet, so the migration here is an example that lives in the tests: contacts
of the "old release" kept one `full_name`; the "new release" keeps `first_name` and `last_name`.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

import pytest

from crm_core import aws
from crm_core.migrations import DONE, PENDING, RUNNING, Migration, Pace, Rewrite, Runner
from infra.commands import migrate as migrate_command
from infra.commands import target

OLD, NEW = 25, 5  # contacts written by the old release, and by the new one
PAGE = 10


def split_full_name(item: Mapping[str, Any]) -> Rewrite | None:
    """0001: `full_name` becomes `first_name` + `last_name` (None for contacts already split)."""
    if "full_name" not in item:
        return None
    first, _, last = str(item["full_name"]).partition(" ")
    return Rewrite(set={"first_name": first, "last_name": last}, remove=("full_name",))


EXAMPLE = Migration(number=1, name="split_full_name", table="CONTACTS_TABLE", rewrite=split_full_name)


class CountingClient:
    """The real DynamoDB client, counting calls; `fail_scan_at` raises on that Scan call (1-based)."""

    def __init__(self, fail_scan_at: int | None = None) -> None:
        self.real = aws.dynamodb()
        self.calls: dict[str, int] = {}
        self.fail_scan_at = fail_scan_at

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)

        def counted(**kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            if name == "scan" and self.calls[name] == self.fail_scan_at:
                raise ConnectionError("the operator's laptop went to sleep")
            return method(**kwargs)

        return counted


@pytest.fixture
def contacts(stack: Any) -> str:
    """The contacts table with OLD contacts in the old shape and NEW in the new one."""
    table = stack.env["CONTACTS_TABLE"]
    client = aws.dynamodb()
    for i in range(OLD):
        client.put_item(
            TableName=table,
            Item={
                "contact_id": {"S": f"c-old-{i:02d}"},
                "email": {"S": f"old{i}@example.com"},
                "full_name": {"S": f"Ana{i} Rossi"},
            },
        )
    for i in range(NEW):
        client.put_item(
            TableName=table,
            Item={
                "contact_id": {"S": f"c-new-{i:02d}"},
                "email": {"S": f"new{i}@example.com"},
                "first_name": {"S": f"Bo{i}"},
                "last_name": {"S": "Chen"},
            },
        )
    return table


def _runner(stack: Any, client: Any = None, sleeps: list[float] | None = None) -> Runner:
    return Runner(
        client or aws.dynamodb(),
        stack.env,
        pace=Pace(page_size=PAGE, units_per_second=1000.0),
        sleep=(sleeps.append if sleeps is not None else lambda _: None),
    )


def _items(table: str) -> dict[str, dict[str, Any]]:
    pages = aws.dynamodb().get_paginator("scan").paginate(TableName=table)  # a test may scan
    return {item["contact_id"]["S"]: item for page in pages for item in page["Items"]}


def _assert_all_migrated(table: str) -> None:
    items = _items(table)
    assert len(items) == OLD + NEW
    for contact_id, item in items.items():
        assert "full_name" not in item, contact_id
        if contact_id.startswith("c-old-"):
            assert item["first_name"]["S"].startswith("Ana")
            assert item["last_name"] == {"S": "Rossi"}
            assert item["schema_version"] == {"N": "1"}
        else:
            assert "schema_version" not in item  # not concerned: never written


def test_an_upgrade_rewrites_every_old_item_and_records_completion(contacts: str, stack: Any) -> None:
    outcome = _runner(stack).run(EXAMPLE)

    _assert_all_migrated(contacts)
    progress = outcome.progress
    assert (progress.status, progress.scanned, progress.rewritten, progress.already) == (
        DONE,
        OLD + NEW,
        OLD,
        0,
    )
    assert progress.last_key is None and progress.completed_at is not None
    recorded = _runner(stack).progress(EXAMPLE)
    assert (recorded.status, recorded.rewritten, recorded.pages) == (DONE, OLD, progress.pages)
    state = aws.dynamodb().get_item(
        TableName=stack.env["MESSAGES_TABLE"], Key={"message_key": {"S": "migration#0001"}}
    )
    assert state["Item"]["status"] == {"S": "done"}


def test_a_second_run_is_a_no_op(contacts: str, stack: Any) -> None:
    _runner(stack).run(EXAMPLE)
    before = _items(contacts)
    client = CountingClient()

    outcome = _runner(stack, client).run(EXAMPLE)

    assert outcome.progress.status == DONE
    assert "scan" not in client.calls and "update_item" not in client.calls and "put_item" not in client.calls
    assert _items(contacts) == before


def test_a_run_interrupted_between_pages_resumes_after_the_last_recorded_page(
    contacts: str, stack: Any
) -> None:
    crashing = CountingClient(fail_scan_at=2)
    with pytest.raises(ConnectionError):
        _runner(stack, crashing).run(EXAMPLE)

    stopped = _runner(stack).progress(EXAMPLE)
    assert (stopped.status, stopped.pages, stopped.scanned) == (RUNNING, 1, PAGE)
    assert stopped.last_key is not None  # where the next run starts
    first_page = stopped.rewritten
    assert 0 < first_page <= PAGE
    assert sum("schema_version" in item for item in _items(contacts).values()) == first_page

    resuming = CountingClient()
    outcome = _runner(stack, resuming).run(EXAMPLE)

    _assert_all_migrated(contacts)
    assert outcome.progress.status == DONE
    assert outcome.progress.rewritten == OLD  # recorded total across both runs
    assert resuming.calls["update_item"] == OLD - first_page  # nothing rewritten twice
    assert outcome.progress.scanned == OLD + NEW  # the first page was not read again


def test_a_crash_inside_a_page_repeats_that_page_and_skips_what_it_had_rewritten(
    contacts: str, stack: Any
) -> None:
    seen: list[str] = []

    def crash_on_the_fourth(item: Mapping[str, Any]) -> Rewrite | None:
        change = split_full_name(item)
        if change is not None:
            seen.append(str(item["contact_id"]))
            if len(seen) == 4:  # three old contacts of the first page rewritten, then the crash
                raise RuntimeError("the function timed out")
        return change

    crashing = Migration(
        number=1, name="split_full_name", table="CONTACTS_TABLE", rewrite=crash_on_the_fourth
    )
    with pytest.raises(RuntimeError):
        _runner(stack).run(crashing)
    assert _runner(stack).progress(EXAMPLE).pages == 0  # the page never finished
    done_before_crash = sum("schema_version" in item for item in _items(contacts).values())
    assert done_before_crash == 3

    client = CountingClient()
    outcome = _runner(stack, client).run(EXAMPLE)

    _assert_all_migrated(contacts)
    assert client.calls["update_item"] == OLD - done_before_crash
    assert outcome.progress.status == DONE


def test_a_dry_run_counts_what_it_would_rewrite_and_writes_nothing(contacts: str, stack: Any) -> None:
    before = _items(contacts)
    client = CountingClient()

    outcome = _runner(stack, client).run(EXAMPLE, dry_run=True)

    assert outcome.would_rewrite == OLD
    assert "update_item" not in client.calls and "put_item" not in client.calls
    assert _items(contacts) == before
    assert _runner(stack).progress(EXAMPLE).status == PENDING


def test_an_item_a_function_moved_to_the_new_shape_meanwhile_is_left_as_it_wrote_it(
    contacts: str, stack: Any
) -> None:
    client = aws.dynamodb()

    def racing(item: Mapping[str, Any]) -> Rewrite | None:
        if item["contact_id"] == "c-old-00":  # a function writes the new shape between read and write
            client.update_item(
                TableName=contacts,
                Key={"contact_id": {"S": "c-old-00"}},
                UpdateExpression="SET first_name = :f, last_name = :l, schema_version = :v REMOVE full_name",
                ExpressionAttributeValues={
                    ":f": {"S": "Anna"},
                    ":l": {"S": "Rossi-Bianchi"},
                    ":v": {"N": "1"},
                },
            )
        return split_full_name(item)

    outcome = _runner(stack).run(Migration(1, "split_full_name", "CONTACTS_TABLE", racing))

    assert (outcome.progress.rewritten, outcome.progress.already) == (OLD - 1, 1)
    assert _items(contacts)["c-old-00"]["last_name"] == {"S": "Rossi-Bianchi"}


def test_pages_are_paced_and_max_pages_pauses_a_run(contacts: str, stack: Any) -> None:
    sleeps: list[float] = []
    slow = Runner(
        aws.dynamodb(), stack.env, pace=Pace(page_size=PAGE, units_per_second=0.5), sleep=sleeps.append
    )

    outcome = slow.run(EXAMPLE, max_pages=2)

    assert outcome.paused and outcome.progress.pages == 2 and outcome.progress.status == RUNNING
    assert len(sleeps) == 1 and sleeps[0] > 1  # one pause between the two pages, none after the last
    assert _runner(stack).run(EXAMPLE).progress.status == DONE


def test_crm_migrate_status_and_run(
    contacts: str, stack: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(target, "_override", target.InProcess())  # the moto stack this test set up

    def args(**extra: Any) -> argparse.Namespace:
        return argparse.Namespace(json=False, **extra)

    assert migrate_command.run_status(args(), [EXAMPLE]) == 0
    assert "0001_split_full_name" in capsys.readouterr().out
    run = {"dry_run": False, "max_pages": 1, "page_size": PAGE, "units_per_second": 1000.0}

    assert migrate_command.run_migrations(args(**run), [EXAMPLE]) == target.EXIT_PAUSED  # after one page
    assert "paused" in capsys.readouterr().out
    assert migrate_command.run_migrations(args(**{**run, "max_pages": None}), [EXAMPLE]) == 0
    assert migrate_command.run_status(args(), [EXAMPLE]) == 0
    assert "done" in capsys.readouterr().out.splitlines()[-1]
    _assert_all_migrated(contacts)


def test_no_migration_is_registered_until_a_stored_shape_changes(
    stack: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_core.migrations.registry import MIGRATIONS

    monkeypatch.setattr(target, "_override", target.InProcess())
    numbers = [m.number for m in MIGRATIONS]
    assert numbers == sorted(set(numbers))  # numbered, in order, each once
    if not MIGRATIONS:
        assert migrate_command.run_migrations(argparse.Namespace(dry_run=False, max_pages=None)) == 0
        assert capsys.readouterr().out == "no migrations: nothing to run\n"


def test_make_deploy_migrates_the_stack_of_its_samconfig_profile() -> None:
    assert migrate_command._profile_stack("default") == "crm-automation-dev"
    assert migrate_command._profile_stack("prod") == "crm-automation-prod"
    with pytest.raises(target.UsageProblem, match="names no stack_name"):
        migrate_command._profile_stack("no-such-profile")
