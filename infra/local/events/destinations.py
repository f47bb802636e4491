"""The record an asynchronous invocation sends to its OnSuccess or OnFailure destination."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm_core import clock


def destination_record(
    *,
    request_payload: Any,
    function_arn: str,
    request_id: str,
    condition: str,
    attempts: int,
    response: Any,
    failed: bool,
    at: datetime,
) -> dict[str, Any]:
    """The record Lambda sends to an async invocation's OnFailure/OnSuccess destination."""
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if failed:
        response_context["functionError"] = "Unhandled"
    return {
        "version": "1.0",
        "timestamp": clock.iso(at, milliseconds=True),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": request_payload,
        "responseContext": response_context,
        "responsePayload": response,
    }
