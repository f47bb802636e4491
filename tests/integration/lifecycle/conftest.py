"""Fixtures of the value and lifecycle tests: the loyalty tests' module-wide stack and orders queue
(the value and the stage move on order events), and the lifecycle function's handler."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.loyalty.conftest import _module_stack, orders, stack
from tests.loyalty_helpers import load_handler

__all__ = ["_module_stack", "orders", "stack"]


@pytest.fixture
def track(stack: Any, lambda_context: Any) -> Any:
    """Invoke the lifecycle function with an EventBridge event (the daily rule or a bus signal)."""
    handler = load_handler("track_lifecycle").lambda_handler

    def invoke(detail_type: str = "Scheduled Event", detail: dict[str, Any] | None = None) -> Any:
        event = {
            "version": "0",
            "id": f"evt-{detail_type}",
            "detail-type": detail_type,
            "source": "aws.events" if detail_type == "Scheduled Event" else "crm.test",
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": detail or {},
        }
        return handler(event, lambda_context)

    return invoke
