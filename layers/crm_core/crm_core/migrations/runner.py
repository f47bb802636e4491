"""The migration runner: pages through one table, rewrites the items a migration concerns, records progress.

A migration is numbered; the items it rewrites get `schema_version` = its number, with a condition
that they are still below it. So a run is idempotent (a rewritten item is skipped), resumable (the
last evaluated key of every finished page is recorded; a crash repeats at most one page, whose
rewritten items are then skipped) and safe beside the functions (a function that writes the new
shape meanwhile wins the condition, and the migration counts the item as already done).

A re-keying migration (`Migration.rekey`) moves items to a new key instead: one TransactWriteItems per
item puts the new item (only if that key is free) and deletes the old one (only if it is still in the
old shape), with any companion items; a crash leaves each item either moved or not, never half-moved.

Progress lives in the messages table, under the reserved key `migration#NNNN` (message keys are
`{contact_id}#...`, and contact ids never read `migration`): no extra table for the functions to be
given. This package is the one place where a Scan is allowed on a Lambda path, paced under a budget of
capacity units per second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any

from crm_core import aws, clock
from crm_core.aws import error_code
from crm_core.errors import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATE_TABLE = "MESSAGES_TABLE"  # where progress is recorded (environment variable naming the table)
STATE_KEY_PREFIX = "migration#"
SCHEMA_VERSION = "schema_version"
PENDING, RUNNING, DONE = "pending", "running", "done"


@dataclass(frozen=True)
class Rewrite:
    """What a migration changes on one item: attributes to set (Python values) and to remove."""

    set: Mapping[str, Any] = field(default_factory=dict)
    remove: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rekey:
    """What a re-keying migration does with one item: `item` (plain values) replaces it, under a new key
    or the same one; `also` are companion items, (table variable, item), put in the same transaction."""

    item: Mapping[str, Any]
    also: tuple[tuple[str, Mapping[str, Any]], ...] = ()


@dataclass(frozen=True)
class Migration:
    """One numbered, idempotent step over the items of one table.

    `table` names the environment variable that holds the table's name (`CONTACTS_TABLE`, ...), as
    the template sets it for the functions. `rewrite` gets an item (plain Python values) whose
    `schema_version` is below `number` and returns the change to make, or None when the item is not
    concerned (another kind of item, or already in the new shape). It must not raise for any item a
    previous release could have written. A migration gives `rekey` instead when items move to a new key
    (see `Rekey`); `prepare` runs once before each run (e.g. to read what the rewrite needs).
    """

    number: int
    name: str
    table: str
    rewrite: Callable[[Mapping[str, Any]], Rewrite | None] | None = None
    description: str = ""
    rekey: Callable[[Mapping[str, Any]], Rekey | None] | None = None
    prepare: Callable[[], None] | None = None

    @property
    def key(self) -> str:
        """The key of this migration's state item."""
        return f"{STATE_KEY_PREFIX}{self.number:04d}"

    @property
    def label(self) -> str:
        """The migration as its file is named: number and name."""
        return f"{self.number:04d}_{self.name}"


@dataclass(frozen=True)
class Pace:
    """How hard a run may use the table: items per Scan page, and the capacity units (read and write,
    as DynamoDB reports them) per second it stays under, averaged over each page."""

    page_size: int = 100
    units_per_second: float = 50.0

    def __post_init__(self) -> None:
        if self.page_size < 1 or self.units_per_second <= 0:
            raise ConfigurationError("a migration's page size and units per second must be positive")


@dataclass
class Progress:
    """The recorded state of one migration in one deployment."""

    migration: str
    status: str = PENDING
    last_key: dict[str, Any] | None = None  # LastEvaluatedKey of the last finished page, as DynamoDB gave it
    pages: int = 0
    scanned: int = 0
    rewritten: int = 0
    already: int = 0  # items another writer had already moved to the new shape
    started_at: str | None = None
    updated_at: str | None = None
    completed_at: str | None = None

    _COUNTERS = ("pages", "scanned", "rewritten", "already")
    _INSTANTS = ("started_at", "updated_at", "completed_at")

    def as_item(self, key: str) -> dict[str, Any]:
        """The progress item in the state table (DynamoDB's attribute value form)."""
        item: dict[str, Any] = {
            "message_key": {"S": key},
            "kind": {"S": "migration"},
            "migration": {"S": self.migration},
            "status": {"S": self.status},
        }
        item.update({name: {"N": str(getattr(self, name))} for name in self._COUNTERS})
        item.update({name: {"S": getattr(self, name)} for name in self._INSTANTS if getattr(self, name)})
        if self.last_key:
            item["last_key"] = {"M": self.last_key}
        return item

    @classmethod
    def from_item(cls, label: str, item: Mapping[str, Any]) -> Progress:
        """Read a progress item written by `as_item`."""
        progress = cls(migration=label, status=item["status"]["S"])
        for name in cls._COUNTERS:
            setattr(progress, name, int(item.get(name, {}).get("N", "0")))
        for name in cls._INSTANTS:
            setattr(progress, name, item.get(name, {}).get("S"))
        progress.last_key = item.get("last_key", {}).get("M")
        return progress

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for printing (the last key with plain values too)."""
        data: dict[str, Any] = {"migration": self.migration, "status": self.status}
        data.update({name: getattr(self, name) for name in self._COUNTERS + self._INSTANTS})
        data["last_key"] = aws.from_dynamodb(self.last_key) if self.last_key else None
        return data


@dataclass
class Outcome:
    """What one `run` did: the progress after it, and whether it stopped before the table's end."""

    progress: Progress
    dry_run: bool = False
    would_rewrite: int = 0  # dry run: items that a real run would rewrite
    paused: bool = False  # stopped at max_pages; the next run resumes


class Runner:
    """Runs migrations against one deployment's tables through a DynamoDB client.

    `tables` maps the environment variable names the template sets (`CONTACTS_TABLE`, ...) to table
    names. `sleep` is injectable so tests need not wait.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        tables: Mapping[str, str],
        *,
        pace: Pace | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.tables = dict(tables)
        self.pace = pace or Pace()
        self.sleep = sleep

    def table(self, variable: str) -> str:
        """The table name behind `variable`. Raises ConfigurationError when the deployment has none."""
        name = self.tables.get(variable)
        if not name:
            raise ConfigurationError(f"no table for {variable}: is this the right deployment?")
        return name

    # ---- recorded progress -------------------------------------------------------------------------
    def progress(self, migration: Migration) -> Progress:
        """The recorded progress of `migration` (status pending when nothing is recorded)."""
        answer = self.client.get_item(
            TableName=self.table(STATE_TABLE),
            Key={"message_key": {"S": migration.key}},
            ConsistentRead=True,
        )
        item = answer.get("Item")
        return Progress.from_item(migration.label, item) if item else Progress(migration=migration.label)

    def status(self, migrations: Iterable[Migration]) -> list[Progress]:
        """The recorded progress of every migration, in number order."""
        return [self.progress(m) for m in sorted(migrations, key=lambda m: m.number)]

    def _record(self, migration: Migration, progress: Progress) -> None:
        progress.updated_at = _now()
        self.client.put_item(TableName=self.table(STATE_TABLE), Item=progress.as_item(migration.key))

    # ---- running -----------------------------------------------------------------------------------
    def run_pending(
        self, migrations: Iterable[Migration], *, dry_run: bool = False, max_pages: int | None = None
    ) -> list[Outcome]:
        """Run every migration not yet done, in number order; stops after the first that pauses.

        Raises what `run` raises; migrations after a failed one do not start.
        """
        outcomes = []
        for migration in sorted(migrations, key=lambda m: m.number):
            outcome = self.run(migration, dry_run=dry_run, max_pages=max_pages)
            outcomes.append(outcome)
            if outcome.paused:
                break
        return outcomes

    def run(self, migration: Migration, *, dry_run: bool = False, max_pages: int | None = None) -> Outcome:
        """Run (or resume) `migration` to the end of its table, or for `max_pages` pages.

        A dry run reads the same pages, counts what it would rewrite and records nothing (it starts
        from the recorded position). Raises the DynamoDB client's errors and what `rewrite` raises;
        progress up to the last finished page stays recorded, so running again resumes there.
        """
        progress = self.progress(migration)
        outcome = Outcome(progress=progress, dry_run=dry_run)
        if progress.status == DONE:
            return outcome
        table = self.table(migration.table)
        keys = self._key_attributes(table)
        self._start(migration, progress, dry_run)
        start_key = progress.last_key
        pages = 0
        while True:
            began = time.monotonic()
            scan: dict[str, Any] = {
                "TableName": table,
                "Limit": self.pace.page_size,
                "ConsistentRead": True,
                "ReturnConsumedCapacity": "TOTAL",
            }
            if start_key:
                scan["ExclusiveStartKey"] = start_key
            page = self.client.scan(**scan)
            units = float(page.get("ConsumedCapacity", {}).get("CapacityUnits", 0))
            for raw in page.get("Items", []):
                units += self._migrate_item(migration, table, keys, raw, outcome)
            pages += 1
            start_key = page.get("LastEvaluatedKey") or None
            progress.pages += 1
            progress.scanned += len(page.get("Items", []))
            progress.last_key = start_key
            if start_key is None and not dry_run:
                progress.status, progress.completed_at = DONE, _now()
            if not dry_run:
                self._record(migration, progress)  # after the page's writes: a crash repeats one page
            if start_key is None:
                return outcome
            if max_pages is not None and pages >= max_pages:
                outcome.paused = True
                return outcome
            self.sleep(max(0.0, units / self.pace.units_per_second - (time.monotonic() - began)))

    def _start(self, migration: Migration, progress: Progress, dry_run: bool) -> None:
        """Let the migration prepare, and record a pending one as running (not on a dry run)."""
        if migration.prepare is not None:
            migration.prepare()
        if not dry_run and progress.status == PENDING:
            progress.status, progress.started_at = RUNNING, _now()
            self._record(migration, progress)

    def _migrate_item(
        self,
        migration: Migration,
        table: str,
        keys: tuple[str, ...],
        raw: Mapping[str, Any],
        outcome: Outcome,
    ) -> float:
        """Rewrite one item if the migration concerns it; returns the write capacity it consumed."""
        item = aws.from_dynamodb(raw)
        if int(item.get(SCHEMA_VERSION, 0)) >= migration.number:
            return 0.0
        if migration.rekey is not None:
            return self._rekey_item(migration, table, keys, item, outcome)
        assert migration.rewrite is not None, migration.label  # noqa: S101 - narrows: rewrite, else rekey
        change = migration.rewrite(item)
        if change is None:
            return 0.0
        if outcome.dry_run:
            outcome.would_rewrite += 1
            return 0.0
        return self._rewrite_item(migration, table, keys, raw, change=change, outcome=outcome)

    def _rewrite_item(
        self,
        migration: Migration,
        table: str,
        keys: tuple[str, ...],
        raw: Mapping[str, Any],
        *,
        change: Rewrite,
        outcome: Outcome,
    ) -> float:
        """Apply one item's change in place, on condition it is still below the migration's number."""
        names: dict[str, str] = {"#v": SCHEMA_VERSION}
        values: dict[str, Any] = {":v": {"N": str(migration.number)}}
        sets = ["#v = :v"]
        for i, (name, value) in enumerate(sorted(change.set.items())):
            names[f"#s{i}"] = name
            values[f":s{i}"] = aws.to_attribute(value)
            sets.append(f"#s{i} = :s{i}")
        expression = "SET " + ", ".join(sets)
        if change.remove:
            for i, name in enumerate(change.remove):
                names[f"#r{i}"] = name
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(change.remove)))
        try:
            answer = self.client.update_item(
                TableName=table,
                Key={k: raw[k] for k in keys},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(#k) AND (attribute_not_exists(#v) OR #v < :v)",
                ExpressionAttributeNames={**names, "#k": keys[0]},
                ExpressionAttributeValues=values,
                ReturnConsumedCapacity="TOTAL",
            )
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            outcome.progress.already += 1  # a function wrote the new shape (or deleted it) meanwhile
            return 1.0
        outcome.progress.rewritten += 1
        return float(answer.get("ConsumedCapacity", {}).get("CapacityUnits", 1.0))

    def _rekey_item(
        self,
        migration: Migration,
        table: str,
        keys: tuple[str, ...],
        item: Mapping[str, Any],
        outcome: Outcome,
    ) -> float:
        """Move one item to its new key (or rewrite it in place) in one transaction; returns the units."""
        assert migration.rekey is not None  # noqa: S101 - narrows the type: only called for a rekey
        change = migration.rekey(item)
        if change is None:
            return 0.0
        if outcome.dry_run:
            outcome.would_rewrite += 1
            return 0.0
        moved = {**change.item, SCHEMA_VERSION: migration.number}
        old_key = {k: item[k] for k in keys}
        new_key = {k: moved[k] for k in keys}
        names = {"#k": keys[0], "#v": SCHEMA_VERSION}
        values = {":v": {"N": str(migration.number)}}
        still_old = "attribute_exists(#k) AND (attribute_not_exists(#v) OR #v < :v)"
        put: dict[str, Any] = {"TableName": table, "Item": aws.to_dynamodb(moved)}
        if new_key == old_key:
            put |= {"ConditionExpression": still_old, "ExpressionAttributeNames": names}
            put["ExpressionAttributeValues"] = values
            writes: list[dict[str, Any]] = [{"Put": put}]
        else:
            put |= {
                "ConditionExpression": "attribute_not_exists(#k)",
                "ExpressionAttributeNames": {"#k": keys[0]},
            }
            delete = {
                "TableName": table,
                "Key": aws.to_dynamodb(old_key),
                "ConditionExpression": still_old,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
            writes = [{"Put": put}, {"Delete": delete}]
        writes += [
            {"Put": {"TableName": self.table(variable), "Item": aws.to_dynamodb(extra)}}
            for variable, extra in change.also
        ]
        try:
            self.client.transact_write_items(TransactItems=writes)  # type: ignore[arg-type]
        except Exception as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            outcome.progress.already += 1  # moved meanwhile, or its new key was taken: nothing written
            return float(len(writes))
        outcome.progress.rewritten += 1
        return 2.0 * len(writes)  # a transactional write costs two units per item (1 KB items)

    def _key_attributes(self, table: str) -> tuple[str, ...]:
        schema = self.client.describe_table(TableName=table)["Table"]["KeySchema"]
        ordered = sorted(schema, key=lambda k: k["KeyType"] != "HASH")
        return tuple(k["AttributeName"] for k in ordered)


def _now() -> str:
    return clock.now().astimezone(UTC).isoformat().replace("+00:00", "Z")
