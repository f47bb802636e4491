"""What every model shares: a table name read from settings on use, and a resettable connection."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.models import Model

from crm_core import aws
from crm_core.settings import get_settings


class SettingsTableName:
    """A `Meta.table_name` that reads the named settings field when pynamodb asks for it."""

    def __init__(self, settings_field: str) -> None:
        self.settings_field = settings_field

    def __get__(self, instance: object, owner: type | None = None) -> str:
        return str(getattr(get_settings(), self.settings_field))


_models: list[type[Model]] = []


def register(model: type[Model]) -> type[Model]:
    """Class decorator: remember the model so its cached connection can be reset, and have that
    connection use the process's one DynamoDB client (crm_core.aws).

    Left alone, pynamodb starts a botocore session and a client for every model class: each reads
    DynamoDB's service model again, about 100 ms of a function's first event per model it touches.
    """
    _models.append(model)
    build = model._get_connection.__func__  # type: ignore[attr-defined]

    def shared(cls: type[Model]) -> Any:
        connection = build(cls)
        if connection.connection._client is None:
            connection.connection._client = aws.dynamodb()  # what pynamodb would build, once per process
        return connection

    model._get_connection = classmethod(shared)  # type: ignore[method-assign,assignment]
    return model


def reset_connections() -> None:
    """Drop every model's cached connection (after the endpoint or credentials change)."""
    for model in _models:
        model._connection = None


def condition_failed(exc: BaseException) -> bool:
    """True when a pynamodb write (or transaction) failed only because a condition did not hold:
    the expected outcome of a replay or a lost race, not an error."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    if any(r is not None and getattr(r, "code", None) == "ConditionalCheckFailed" for r in reasons):
        return True
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def update_if(item: Model, actions: list[Any], condition: Any, **options: Any) -> bool:
    """Apply `actions` to `item` when `condition` holds: True if written, False if the condition
    failed (a replay or a lost race); any other error passes through."""
    try:
        item.update(actions=actions, condition=condition, **options)
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def save_if(item: Model, condition: Any, **options: Any) -> bool:
    """Put `item` when `condition` holds: True if written, False if the condition failed."""
    try:
        item.save(condition=condition, **options)
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True
