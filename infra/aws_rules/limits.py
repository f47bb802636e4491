"""DynamoDB's 400 KB item limit, enforced on the calls that write items (moto stores any size).

AWS counts an item as the UTF-8 length of every attribute name plus the size of every value:
strings by their UTF-8 bytes, binaries by their bytes, numbers by about one byte per two
significant digits plus one, booleans and nulls one byte, sets the sum of their elements, lists and
maps three bytes plus one byte per element plus their elements (map keys counted like names).
A write over the limit raises the ValidationException AWS raises, before moto sees it.

PutItem and the Put items of TransactWriteItems are checked exactly. An UpdateItem is checked on
its key and the values it sets (a lower bound of the item it produces: the stored rest is not read),
enough to catch an update that alone exceeds the limit.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

MAX_ITEM_BYTES = 400 * 1024
TOO_LARGE = "Item size has exceeded the maximum allowed size"
TOO_LARGE_UPDATE = "Item size to update has exceeded the maximum allowed size"


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").split("e")[0].split("E")[0].replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1


def _binary_size(value: Any) -> int:
    if isinstance(value, bytes | bytearray):
        return len(value)
    return len(base64.b64decode(str(value)))  # the JSON protocol carries binaries base64-encoded


def _text_size(text: Any) -> int:
    return len(str(text).encode("utf-8", "surrogatepass"))


def value_size(value: Mapping[str, Any]) -> int:
    """The bytes DynamoDB counts for one typed attribute value ({"S": ...}, {"L": [...]}, ...);
    raises ValueError for an unknown type."""
    (kind, data), *_ = value.items()
    sizers: dict[str, Any] = {
        "S": _text_size,
        "N": lambda n: _number_size(str(n)),
        "B": _binary_size,
        "BOOL": lambda _: 1,
        "NULL": lambda _: 1,
        "SS": lambda d: sum(_text_size(s) for s in d),
        "NS": lambda d: sum(_number_size(str(n)) for n in d),
        "BS": lambda d: sum(_binary_size(b) for b in d),
        "L": lambda d: 3 + sum(1 + value_size(v) for v in d),
        "M": lambda d: 3 + sum(1 + _text_size(k) + value_size(v) for k, v in d.items()),
    }
    if kind not in sizers:
        raise ValueError(f"unknown DynamoDB type {kind!r}")
    return int(sizers[kind](data))


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """The size DynamoDB counts for an item (attribute names plus values), in bytes."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def _update_size(params: Mapping[str, Any]) -> int:
    names = params.get("ExpressionAttributeNames") or {}
    values = params.get("ExpressionAttributeValues") or {}
    return (
        item_size(params.get("Key") or {})
        + sum(len(str(n).encode("utf-8")) for n in names.values())
        + sum(value_size(v) for v in values.values())
    )


def _transact_writes(params: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for entry in params.get("TransactItems") or []:
        if "Put" in entry:
            yield "Put", entry["Put"].get("Item") or {}
        if "Update" in entry:
            yield "Update", entry["Update"]


def _batch_writes(params: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for requests in (params.get("RequestItems") or {}).values():
        for request in requests:
            yield "Put", (request.get("PutRequest") or {}).get("Item") or {}


# ("Put", item) and ("Update", update parameters) for every item a write call stores
_WRITES: dict[str, Callable[[Mapping[str, Any]], Iterable[tuple[str, Mapping[str, Any]]]]] = {
    "PutItem": lambda params: [("Put", params.get("Item") or {})],
    "UpdateItem": lambda params: [("Update", params)],
    "TransactWriteItems": _transact_writes,
    "BatchWriteItem": _batch_writes,
}


def oversized(operation: str, params: Mapping[str, Any]) -> str | None:
    """AWS's message when a write call would store an item over the limit, else None."""
    writes = _WRITES.get(operation)
    for kind, write in writes(params) if writes else ():
        if kind == "Put" and item_size(write) > MAX_ITEM_BYTES:
            return TOO_LARGE
        if kind == "Update" and _update_size(write) > MAX_ITEM_BYTES:
            return TOO_LARGE_UPDATE
    return None


def check_item_size(params: Mapping[str, Any], model: Any, **_: Any) -> None:
    """botocore `before-parameter-build.dynamodb` hook: raise AWS's ValidationException for an
    item over 400 KB."""
    message = oversized(model.name, params)
    if message is None:
        return
    from botocore.exceptions import ClientError

    response = {
        "Error": {"Code": "ValidationException", "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    raise ClientError(response, model.name)  # type: ignore[arg-type]
