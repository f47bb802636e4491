"""Order events on the orders queue (docs/order-events.md): parser models (pydantic).

One JSON object per SQS message, told apart by `type`:

    {"event_id": "evt-1001", "type": "purchase", "order_id": "A-1001", "email": "ana@example.com",
     "amount": "49.90", "currency": "EUR", "occurred_at": "2026-11-23T10:15:00Z"}

`refund` adds `refund_id` (its `amount` is the refunded part of `order_id`); `adjustment` carries
`points` (signed) and `reason`. `contact_id` may replace `email`. Amounts are decimal strings:
a JSON number is refused, because a float has already lost the cents the shop meant.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, Json, model_validator

from crm_core.queues import SqsRecord

_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,4})?$")


def _decimal_string(value: Any) -> Decimal:
    if isinstance(value, Decimal):  # built in code rather than parsed from JSON
        value = str(value)
    if not isinstance(value, str) or not _AMOUNT.match(value.strip()):
        raise ValueError('must be a decimal string such as "49.90" (up to 4 decimals, no sign, no float)')
    try:
        return Decimal(value.strip())
    except InvalidOperation:  # pragma: no cover - the pattern already guarantees a decimal
        raise ValueError("not a decimal") from None


Amount = Annotated[Decimal, BeforeValidator(_decimal_string), Field(gt=0)]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")]


class _OrderEventBase(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    event_id: Identifier
    email: Email | None = None
    contact_id: Annotated[str, Field(pattern=r"^ct_[a-z2-7]{26}$")] | None = None
    occurred_at: AwareDatetime

    @model_validator(mode="after")
    def _names_a_contact(self) -> _OrderEventBase:
        if self.email is None and self.contact_id is None:
            raise ValueError("either email or contact_id is required")
        return self


class Purchase(_OrderEventBase):
    """An order paid: earns points in the order's currency."""

    type: Literal["purchase"]
    order_id: Identifier
    amount: Amount
    currency: Currency


class Refund(_OrderEventBase):
    """Part or all of an order refunded: takes back the points it earned, in proportion."""

    type: Literal["refund"]
    order_id: Identifier
    refund_id: Identifier
    amount: Amount  # the refunded part of the order
    currency: Currency


class Adjustment(_OrderEventBase):
    """Points added or taken by hand, with the reason the ledger keeps."""

    type: Literal["adjustment"]
    order_id: Identifier | None = None
    points: Annotated[int, Field(strict=True, ge=-1_000_000, le=1_000_000)]
    reason: Annotated[str, Field(min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _moves_points(self) -> Adjustment:
        if self.points == 0:
            raise ValueError("points must not be 0")
        return self


OrderEvent = Annotated[Purchase | Refund | Adjustment, Field(discriminator="type")]


class OrderEventRecord(SqsRecord):
    """An SQS record of the orders queue, its body parsed as an order event."""

    body: Json[OrderEvent]  # type: ignore[assignment]
