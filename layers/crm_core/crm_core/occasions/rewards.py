"""The birthday reward, through the loyalty ledger when that area is deployed with this layer.

A seam: `crm_core.loyalty` is imported lazily, so the occasions run works (without points) in a
layer that lacks it, and a test can put a fake in its place.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache

from crm_core.settings import get_settings

LOYALTY_MODULE = "crm_core.loyalty"

Grant = Callable[[str, int], int]


@cache
def _grant_function() -> Grant | None:
    try:
        module = importlib.import_module(LOYALTY_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != LOYALTY_MODULE:
            raise  # the loyalty module exists but is broken: that is a bug to see, not a missing feature
        return None
    grant: Grant | None = getattr(module, "grant_birthday_bonus", None)
    return grant


def forget() -> None:
    """Look the loyalty module up again on next use (tests swap it)."""
    _grant_function.cache_clear()


def birthday_bonus(contact_id: str, year: int) -> int:
    """Grant the contact's birthday bonus for `year` and return its points (idempotent per year).

    0 when BIRTHDAY_BONUS_ENABLED is off or the loyalty module is absent. Raises what the loyalty
    ledger raises (e.g. RetryableError): the greeting then waits for the next run, so it never
    announces points that were not granted.
    """
    if not get_settings().birthday_bonus_enabled:
        return 0
    grant = _grant_function()
    if grant is None:
        return 0
    return max(0, int(grant(contact_id, year)))
