"""The birthday reward: the loyalty ledger's birthday bonus, when the business has switched it on."""

from __future__ import annotations

from crm_core import loyalty  # the package alone: the ledger loads on the first grant
from crm_core.settings import get_settings


def birthday_bonus(contact_id: str, year: int) -> int:
    """Grant the contact's birthday bonus for `year` and return its points (idempotent per year).

    0 when BIRTHDAY_BONUS_ENABLED is off. Raises what the loyalty ledger raises (e.g. RetryableError):
    the greeting then waits for the next run, so it never announces points that were not granted.
    """
    if not get_settings().birthday_bonus_enabled:
        return 0
    return max(0, int(loyalty.grant_birthday_bonus(contact_id, year)))
