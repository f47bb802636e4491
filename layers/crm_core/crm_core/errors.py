"""Typed domain errors; each entry point maps them to its answer in one place."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


class CrmError(Exception):
    """Base of every error crm_core raises on purpose."""


class ConfigurationError(CrmError):
    """The deployment is misconfigured (a missing variable, an invalid rule file)."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field, as the API reports it.

    `code` names the kind of problem ("required", "too_long" ...) for wording it for a person
    (crm_core.leads.visitor); it is not part of the API's answer nor of equality."""

    field: str
    message: str
    code: str = dataclasses.field(default="", compare=False)  # `field` is the attribute above


class ValidationFailed(CrmError):
    """Input is invalid; carries every field error found, not just the first."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class NotFound(CrmError):
    """The thing asked for does not exist."""


class Conflict(CrmError):
    """The request conflicts with the current state (e.g. the balance does not cover a redemption)."""


class KeyReused(Conflict):
    """An idempotency key sent again with other content: a client error, never a replay."""

    field = "Idempotency-Key"


class RetryableError(CrmError):
    """A transient failure (throttling, a dependency down): the caller should retry; nothing was lost."""


class InvalidToken(CrmError):
    """A signed token or address was forged, altered or malformed."""
