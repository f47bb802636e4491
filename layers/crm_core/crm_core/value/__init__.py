"""Customer value: RFM figures per contact, the base's quantile sketch, segments, most valuable.

What other areas call:
- `record_order_event(contact_id, event)`: count a purchase or refund once per event id (orders queue);
- `refresh(contact_id)`: recompute at the clock's now (the lifecycle's daily run);
- `sketch.accuracy(n)`: how far the sketch's quintiles are from exact ranks (bench, docs).

The figures live on the contact item, attribute `value` (docs/customer-value.md has the shape),
and the flag in `most_valuable` (complaint routing reads it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm_core.value.store import record_order_event, refresh

__all__ = ["record_order_event", "refresh"]


def __getattr__(name: str) -> Any:  # lazily: the lifecycle's pure rules import value.figures alone
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.store"), name)
