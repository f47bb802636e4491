"""What every model shares: a table name read from settings on use, and a resettable connection."""

from __future__ import annotations

from pynamodb.models import Model

from crm_core.settings import get_settings


class SettingsTableName:
    """A `Meta.table_name` that reads the named settings field when pynamodb asks for it."""

    def __init__(self, settings_field: str) -> None:
        self.settings_field = settings_field

    def __get__(self, instance: object, owner: type | None = None) -> str:
        return str(getattr(get_settings(), self.settings_field))


_models: list[type[Model]] = []


def register(model: type[Model]) -> type[Model]:
    """Class decorator: remember the model so its cached connection can be reset."""
    _models.append(model)
    return model


def reset_connections() -> None:
    """Drop every model's cached connection (after the endpoint or credentials change)."""
    for model in _models:
        model._connection = None
