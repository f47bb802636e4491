"""Plain-value DynamoDB and S3 helpers for the privacy jobs (low-level clients, paged, no Scan)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from crm_core import aws

Item = dict[str, Any]


to_dynamodb, from_dynamodb = aws.to_dynamodb, aws.from_dynamodb  # the jobs' names for the one codec


def query(table: str, attribute: str, value: str, *, index: str | None = None) -> Iterator[Item]:
    """Every item (or index entry) whose key `attribute` is `value`, page after page."""
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "#k = :v",
        "ExpressionAttributeNames": {"#k": attribute},
        "ExpressionAttributeValues": {":v": {"S": value}},
    }
    if index:
        request["IndexName"] = index
    else:
        request["ConsistentRead"] = True
    while True:
        page = aws.dynamodb().query(**request)
        yield from (from_dynamodb(raw) for raw in page.get("Items", []))
        if not page.get("LastEvaluatedKey"):
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def get(table: str, key: Mapping[str, Any]) -> Item | None:
    """One item (consistent read), None when there is none."""
    answer = aws.dynamodb().get_item(TableName=table, Key=to_dynamodb(key), ConsistentRead=True)
    return from_dynamodb(answer["Item"]) if "Item" in answer else None


def put(table: str, item: Mapping[str, Any]) -> None:
    """Write one item, replacing what was there."""
    aws.dynamodb().put_item(TableName=table, Item=to_dynamodb(item))


def delete(table: str, key: Mapping[str, Any]) -> None:
    """Delete one item; deleting an item that is gone already is not an error (a resumed job)."""
    aws.dynamodb().delete_item(TableName=table, Key=to_dynamodb(key))


def object_versions(bucket: str, prefix: str) -> Iterator[tuple[str, str]]:
    """(key, version id) of every version and delete marker under `prefix` of a versioned bucket."""
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = aws.s3().list_object_versions(**request)
        for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            yield entry["Key"], entry["VersionId"]
        if not page.get("IsTruncated"):
            return
        request["KeyMarker"] = page["NextKeyMarker"]
        request["VersionIdMarker"] = page["NextVersionIdMarker"]


def object_keys(bucket: str, prefix: str) -> Iterator[str]:
    """Keys of the current objects under `prefix`."""
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = aws.s3().list_objects_v2(**request)
        yield from (entry["Key"] for entry in page.get("Contents", []))
        if not page.get("IsTruncated"):
            return
        request["ContinuationToken"] = page["NextContinuationToken"]


def read_object(bucket: str, key: str) -> bytes | None:
    """The object's bytes, or None when it is gone (expired by the lifecycle, or erased)."""
    try:
        body: bytes = aws.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:
        if aws.error_code(exc) in {"NoSuchKey", "404"}:
            return None
        raise
    return body
