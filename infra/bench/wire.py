"""Counting what the functions do on the wire: AWS calls, DynamoDB capacity units, log bytes and EMF metrics.

A botocore hook on every client created after `Wire.install()` records each call a function makes
(the function is the one `infra.aws_rules.enforce.acting_as` says is running: calls of the harness
itself are not counted). DynamoDB capacity is computed as DynamoDB bills it, because moto's
ConsumedCapacity values are constants: item sizes (attribute names + values) read back from moto
before and after each write, rounded up to 1 KB per write and 4 KB per read, doubled in transactions,
plus one write per secondary index the item is in (two when the index key changes).
"""

from __future__ import annotations

import io
import json
import math
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from infra.aws_rules import enforce
from infra.template import Template

_KB = 1024
_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
_TRANSACT_KEYS = {"Put": "Item", "Update": "Key", "Delete": "Key", "ConditionCheck": "Key"}


# ---- DynamoDB item sizes ---------------------------------------------------------------------------
def _number_size(body: Any) -> int:
    digits = str(body).lstrip("-").replace(".", "").strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


_SIZES: dict[str, Callable[[Any], int]] = {
    "S": lambda body: len(str(body).encode()),
    "N": _number_size,
    "B": lambda body: len(body) if isinstance(body, bytes | bytearray) else len(str(body).encode()),
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
    "SS": lambda body: sum(value_size({"S": member}) for member in body),
    "NS": lambda body: sum(value_size({"N": member}) for member in body),
    "BS": lambda body: sum(value_size({"B": member}) for member in body),
    "L": lambda body: 3 + sum(1 + value_size(member) for member in body),
    "M": lambda body: 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in body.items()),
}


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value (low-level form, e.g. {"S": "x"})."""
    ((kind, body),) = value.items()
    if kind not in _SIZES:
        raise ValueError(f"unknown attribute type {kind}")
    return _SIZES[kind](body)


def item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    """Bytes of an item as DynamoDB sizes it: every attribute's name plus its value."""
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    indexes: dict[str, tuple[tuple[str, ...], str]]  # index name -> (key attributes, projection type)

    def key_of(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self.keys if name in item}


def table_shapes(template: Template) -> dict[str, TableShape]:
    """Each table's key and secondary indexes, by physical name, from template.yaml."""
    shapes = {}
    for logical_id, resource in template.of_type("AWS::DynamoDB::Table"):
        props = resource.get("Properties", {})
        indexes = {}
        for index in [*props.get("GlobalSecondaryIndexes", []), *props.get("LocalSecondaryIndexes", [])]:
            keys = tuple(str(k["AttributeName"]) for k in index["KeySchema"])
            indexes[str(index["IndexName"])] = (keys, str(index.get("Projection", {}).get("ProjectionType")))
        keys = tuple(str(k["AttributeName"]) for k in props.get("KeySchema", []))
        shapes[template.physical_name(logical_id)] = TableShape(keys, indexes)
    return shapes


# ---- what one operation did ---------------------------------------------------------------------------
@dataclass
class Call:
    function: str
    service: str
    operation: str
    params: dict[str, Any]
    read_units: float = 0.0
    write_units: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.service}:{self.operation}"


@dataclass
class Tally:
    """Everything counted while `Wire.measure()` was open."""

    calls: list[Call] = field(default_factory=list)
    invocations: Counter[str] = field(default_factory=Counter)
    duration_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    log_bytes: Counter[str] = field(default_factory=Counter)
    metrics: Counter[tuple[str, str, tuple[tuple[str, str], ...]]] = field(default_factory=Counter)
    item_bytes: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    @property
    def read_units(self) -> float:
        return sum(c.read_units for c in self.calls)

    @property
    def write_units(self) -> float:
        return sum(c.write_units for c in self.calls)

    def by_operation(self) -> Counter[str]:
        return Counter(c.name for c in self.calls)

    def count(self, service: str, operation: str | None = None) -> int:
        return sum(1 for c in self.calls if c.service == service and operation in {None, c.operation})


class _Stdout(io.TextIOBase):
    """Stands in for sys.stdout: what a function prints is counted (and kept off the terminal)."""

    def __init__(self, wire: Wire, real: Any) -> None:
        self._wire, self._real = wire, real
        self._pending: dict[str, str] = defaultdict(str)

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        function = Wire.running()
        if function is None:
            return int(self._real.write(text))
        self._wire.printed(function, text)
        return len(text)

    def flush(self) -> None:
        self._real.flush()


class Wire:
    """Install once, before the local stack starts; then `with wire.measure() as tally:` per operation."""

    def __init__(self, template: Template, sizer: Any) -> None:
        self.shapes = table_shapes(template)
        self._sizer = sizer  # a DynamoDB client created before install(): its calls are not counted
        self._tally: Tally | None = None
        self._lines: dict[str, str] = defaultdict(str)
        self._lock = threading.RLock()

    @staticmethod
    def running() -> str | None:
        active = enforce._current.get()  # the function `acting_as` says is running, if any
        return None if active is None else active[1]

    def install(self) -> None:
        from botocore.client import ClientCreator

        original = ClientCreator.create_client
        wire = self

        def create_client(creator: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(creator, *args, **kwargs)
            service = client.meta.service_model.service_name
            client.meta.events.register("before-parameter-build", wire.params_hook())
            client.meta.events.register("before-call", wire._before(service))
            client.meta.events.register("after-call", wire._after(service))
            return client

        ClientCreator.create_client = create_client  # type: ignore[method-assign,assignment]
        sys.stdout = _Stdout(self, sys.stdout)

    @contextmanager
    def measure(self) -> Iterator[Tally]:
        tally = Tally()
        with self._lock:
            self._tally = tally
        try:
            yield tally
        finally:
            with self._lock:
                self._tally = None

    def invoked(self, function: str, duration_ms: float) -> None:
        if self._tally is not None:
            self._tally.invocations[function] += 1
            self._tally.duration_ms[function].append(duration_ms)

    def printed(self, function: str, text: str) -> None:
        if self._tally is None:
            return
        self._tally.log_bytes[function] += len(text.encode())
        buffered = self._lines[function] + text
        *lines, self._lines[function] = buffered.split("\n")
        for line in lines:
            if '"_aws"' in line:
                self._metrics(function, line)

    def _metrics(self, function: str, line: str) -> None:
        """Billable metrics: name + dimension set. Locally every function shares one process (and
        Powertools' metric `service`); on AWS each has its own, so the service is the function's."""
        assert self._tally is not None
        try:
            document = json.loads(line)
        except ValueError:
            return
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimensions in directive.get("Dimensions", [[]]):
                key = tuple(
                    sorted(
                        (name, function if name == "service" else str(document.get(name, "")))
                        for name in dimensions
                    )
                )
                for metric in directive.get("Metrics", []):
                    self._tally.metrics[(str(directive.get("Namespace")), str(metric["Name"]), key)] += 1

    # ---- the hooks ------------------------------------------------------------------------------
    def _before(self, service: str) -> Any:
        def hook(model: Any, params: Any, context: dict[str, Any], **_: Any) -> None:
            function = self.running()
            if function is None or self._tally is None:
                return
            call_params = context.get("bench_params") or {}
            call = Call(function, service, model.name, call_params)
            context["bench_call"] = call
            if service == "dynamodb":
                context["bench_before"] = self._items_touched(model.name, call_params)

        return hook

    def _after(self, service: str) -> Any:
        def hook(parsed: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
            call: Call | None = context.get("bench_call")
            if call is None or self._tally is None:
                return
            if service == "dynamodb":
                self._capacity(call, parsed, context.get("bench_before", []))
            self._tally.calls.append(call)

        return hook

    def params_hook(self) -> Any:
        """Keeps the caller's parameters (before serialization) for the capacity arithmetic."""

        def hook(params: Any, context: dict[str, Any], **_: Any) -> None:
            context["bench_params"] = dict(params)

        return hook

    # ---- DynamoDB capacity ------------------------------------------------------------------------
    def _items_touched(
        self, operation: str, params: Mapping[str, Any]
    ) -> list[tuple[str, dict[str, Any], Any]]:
        """(table, key, item before) of every item a write names."""
        targets: list[tuple[str, dict[str, Any]]] = []
        if operation in _WRITES:
            table = str(params["TableName"])
            source = params.get("Item") or params.get("Key") or {}
            targets.append((table, self.shapes[table].key_of(source) if table in self.shapes else source))
        elif operation == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                ((kind, body),) = entry.items()
                table = str(body["TableName"])
                targets.append((table, self.shapes[table].key_of(body.get(_TRANSACT_KEYS[kind], {}))))
        elif operation == "BatchWriteItem":
            targets += self._batch_targets(params)
        return [(table, key, self._get(table, key)) for table, key in targets]

    def _batch_targets(self, params: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        targets = []
        for table, requests in params.get("RequestItems", {}).items():
            for request in requests:
                ((_, body),) = request.items()
                source = body.get("Item") or body.get("Key") or {}
                targets.append((str(table), self.shapes[str(table)].key_of(source)))
        return targets

    def _get(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        if not key:
            return None
        found: dict[str, Any] | None = self._sizer.get_item(TableName=table, Key=key).get("Item")
        return found

    def _capacity(self, call: Call, parsed: Mapping[str, Any], before: list[Any]) -> None:
        if call.operation in _WRITES or call.operation in {"TransactWriteItems", "BatchWriteItem"}:
            self._write_capacity(call, before)
        else:
            call.read_units += _read_units(call.operation, call.params, parsed)

    def _write_capacity(self, call: Call, before: list[Any]) -> None:
        """Units of a write, each item sized before and after (and its index writes)."""
        transactional = call.operation.startswith("Transact")
        kinds = (
            [next(iter(e)) for e in call.params.get("TransactItems", [])]
            if transactional
            else [call.operation] * len(before)
        )
        for (table, key, old), kind in zip(before, kinds, strict=True):
            new = self._get(table, key)
            if kind == "ConditionCheck":
                call.read_units += 2 * max(1, math.ceil(item_size(old) / (4 * _KB)))
                continue
            units = max(1, math.ceil(max(item_size(old), item_size(new)) / _KB))
            call.write_units += units * (2 if transactional else 1) + self._index_writes(table, old, new)
            if new is not None and self._tally is not None:
                self._tally.item_bytes[table].append(item_size(new))

    def _index_writes(self, table: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> int:
        """Index writes: one per index holding the item (put or delete), two when its index key changes."""
        shape = self.shapes.get(table)
        if shape is None:
            return 0
        return sum(
            _index_units(shape.keys, keys, projection, old, new)
            for keys, projection in shape.indexes.values()
        )


def _read_units(op: str, params: Mapping[str, Any], parsed: Mapping[str, Any]) -> float:
    """Read units of a read, per started 4 KB of what it returned (twice in a transaction)."""
    consistent = 1.0 if params.get("ConsistentRead") else 0.5
    units = 0.0
    if op == "GetItem":
        units += consistent * max(1, math.ceil(item_size(parsed.get("Item")) / (4 * _KB)))
    elif op in {"Query", "Scan"}:
        total = sum(item_size(item) for item in parsed.get("Items", []))
        units += consistent * max(1, math.ceil(total / (4 * _KB)))
    elif op == "BatchGetItem":
        for items in parsed.get("Responses", {}).values():
            units += sum(consistent * max(1, math.ceil(item_size(i) / (4 * _KB))) for i in items)
    elif op == "TransactGetItems":
        for response in parsed.get("Responses", []):
            units += 2 * max(1, math.ceil(item_size(response.get("Item")) / (4 * _KB)))
    return units


def _in_index(item: Mapping[str, Any] | None, keys: tuple[str, ...]) -> bool:
    return item is not None and all(k in item for k in keys)


def _projected_size(item: Mapping[str, Any], keys: tuple[str, ...], projection: str) -> int:
    if projection == "KEYS_ONLY":
        return item_size({k: item[k] for k in keys if k in item})
    return item_size(item)


def _index_units(
    table_keys: tuple[str, ...],
    keys: tuple[str, ...],
    projection: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
) -> int:
    """Write units one index takes for an item going from `old` to `new` (either may be None)."""
    held = [item for item in (old, new) if item is not None and _in_index(item, keys)]
    if not held:
        return 0
    size = max(_projected_size(item, (*keys, *table_keys), projection) for item in held)
    each = max(1, math.ceil(size / _KB))
    if len(held) == 1:
        return each  # put into, or deleted from, the index
    assert old is not None and new is not None
    if any(old[k] != new[k] for k in keys):
        return 2 * each  # the index key changed: a delete and a put
    return 0 if old == new else each  # an update that changed nothing writes nothing to the index
