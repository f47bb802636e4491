"""Lazily created, cached AWS clients: nothing is built at import, and moto can start first."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

_lock = threading.Lock()  # boto3's default session is not thread-safe while it creates clients
# SES v2 sends are never retried by botocore: a retry after a read timeout may send the message twice
# (SES has no idempotency key); the sent-message ledger decides when to send again instead.
_ATTEMPTS = {"sesv2": 1}


@cache
def client(service: str) -> Any:
    """A cached boto3 client with bounded, jittered retries (standard mode; none for SES v2 sends)."""
    import boto3  # noqa: PLC0415 - deferred: boto3 costs ~150 ms of cold start where unused
    from botocore.config import Config  # noqa: PLC0415 - with boto3 above

    with _lock:
        factory: Any = boto3.client  # typed per service by the wrappers below
        return factory(
            service, config=Config(retries={"mode": "standard", "max_attempts": _ATTEMPTS.get(service, 3)})
        )


def reset_clients() -> None:
    """Forget every cached client (tests and the local stack switch endpoints)."""
    client.cache_clear()


def dynamodb() -> DynamoDBClient:
    """The cached DynamoDB client, typed for the stubs."""
    return client("dynamodb")  # type: ignore[no-any-return]


def sesv2() -> SESV2Client:
    """The cached SES v2 client (sending), typed for the stubs."""
    return client("sesv2")  # type: ignore[no-any-return]


def ses() -> SESClient:
    """The cached SES v1 client (receipt rules, raw sends the local stack records)."""
    return client("ses")  # type: ignore[no-any-return]


def s3() -> S3Client:
    """The cached S3 client, typed for the stubs."""
    return client("s3")  # type: ignore[no-any-return]


def sqs() -> SQSClient:
    """The cached SQS client, typed for the stubs."""
    return client("sqs")  # type: ignore[no-any-return]


def sns() -> SNSClient:
    """The cached SNS client, typed for the stubs."""
    return client("sns")  # type: ignore[no-any-return]


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (or pynamodb error wrapping one), else ''."""
    response = getattr(exc, "response", None)
    if response is None:
        cause = getattr(exc, "cause", None) or exc.__cause__
        response = getattr(cause, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "LimitExceededException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


def is_transient(exc: BaseException) -> bool:
    """True for throttling and server-side faults that a retry may cure."""
    return error_code(exc) in THROTTLING_CODES


@cache
def _codec() -> tuple[Any, Any]:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer  # noqa: PLC0415 - when first used

    return TypeSerializer(), TypeDeserializer()


def to_attribute(value: Any) -> dict[str, Any]:
    """One plain value as a low-level DynamoDB attribute value (`{"S": ...}`, `{"M": ...}` ...)."""
    return _codec()[0].serialize(value)  # type: ignore[no-any-return]


def to_dynamodb(item: Mapping[str, Any]) -> dict[str, Any]:
    """A plain item (numbers as int or Decimal) in the low-level client's attribute-value form."""
    return {k: to_attribute(v) for k, v in item.items()}


def from_dynamodb(item: Mapping[str, Any]) -> dict[str, Any]:
    """A low-level client's item as plain Python (numbers as Decimal, sets as sets)."""
    deserializer = _codec()[1]
    return {k: deserializer.deserialize(v) for k, v in item.items()}


def read_item(table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    """One item by its key, read consistently, as plain Python values (numbers as Decimal); None when
    there is none. For the code paths that keep pynamodb's import out of their cold start."""
    raw = dynamodb().get_item(TableName=table, Key=to_dynamodb(key), ConsistentRead=True).get("Item")
    return None if raw is None else from_dynamodb(raw)
