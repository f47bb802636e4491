"""Why a redemption is refused: both are conflicts with the account's state (HTTP 409)."""

from __future__ import annotations

from typing import Any

from crm_core.errors import Conflict


class InsufficientPoints(Conflict):
    """The balance does not cover the redemption."""

    def __init__(self, requested: int, available: int) -> None:
        super().__init__(f"the balance of {available} points does not cover {requested}")
        self.details: dict[str, Any] = {"requested": requested, "available": available}


class OutstandingDebt(Conflict):
    """A refund took back points already spent: nothing can be redeemed until the debt is repaid."""

    def __init__(self, debt: int) -> None:
        super().__init__(f"{debt} points are owed after a refund; they must be repaid before redeeming")
        self.details: dict[str, Any] = {"debt": debt}


class IdempotencyKeyReused(Conflict):
    """The Idempotency-Key already named a different redemption."""

    def __init__(self, key: str, points: int) -> None:
        super().__init__(f"Idempotency-Key {key!r} was already used for a redemption of {points} points")
        self.details: dict[str, Any] = {"points": points}
