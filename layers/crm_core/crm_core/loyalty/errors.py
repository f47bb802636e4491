"""Why a movement is refused: conflicts with the account's state or with what was recorded (HTTP 409)."""

from __future__ import annotations

from typing import Any

from crm_core.errors import Conflict, KeyReused


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


class IdempotencyKeyReused(KeyReused):
    """The Idempotency-Key already named a different redemption (other points or another order)."""

    def __init__(self, key: str, points: int, order_id: str | None = None) -> None:
        order = f" for order {order_id}" if order_id else ""
        super().__init__(
            f"Idempotency-Key {key!r} was already used for a redemption of {points} points{order}; "
            "use a new key for a new redemption"
        )
        self.details: dict[str, Any] = {"points": points, "order_id": order_id}


class EventConflict(Conflict):
    """An order event reuses a source id (order, refund) with other content: never applied in silence."""
