"""The relationship lifecycle: exploration, awareness, expansion, commitment, dissolution.

What other areas call:
- `reevaluate(contact_id, cause=...)`: after anything that may move the stage (an order event);
- `note_signal(contact_id, kind, signal_id, at, what=None)`: engagement (a reply, a survey answer,
  a click) and complaints opened / resolved;
- `run_daily()`: the contacts of the sparse `lifecycle-review` index whose day has come;
- `view(contact_id)`: stage, since, history, value figures and segment (the HTTP API).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {"reevaluate": "service", "note_signal": "service", "run_daily": "daily", "view": "views"}
__all__ = ["note_signal", "reevaluate", "run_daily", "view"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
