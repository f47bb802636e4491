"""Helpers of the follow-up tests: real-shaped events, the outbox as a user reads it, a fake clock.

`http_event` here also fills `queryStringParameters`, as API Gateway does when a query is present
(the unsubscribe links carry their token there).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qsl

from tests.helpers import load_handler

__all__ = ["Email", "FakeTime", "http_event", "load_handler", "outbox", "read_email"]


@dataclass
class Email:
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]

    @property
    def unsubscribe_url(self) -> str:
        return self.headers["List-Unsubscribe"].strip("<>")


def read_email(raw: str) -> Email:
    message = message_from_string(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    return Email(
        to=str(message["To"]),
        subject=str(message["Subject"]),
        text=text.get_content() if text else "",
        html=html.get_content() if html else "",
        headers={k: str(v) for k, v in message.items()},
    )


def outbox(stack: Any) -> list[Email]:
    """What SES (moto) accepted, as the recipients would read it."""
    return [read_email(m.raw_data) for m in stack.sent_emails()]


class FakeTime:
    """A monotonic clock and a sleep that only moves it: a rate limiter's hours in an instant."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def http_event(
    method: str,
    path: str,
    *,
    query: str = "",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event; a non-text body is base64 encoded as AWS does."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    headers.setdefault("host", "abc123.execute-api.eu-west-1.amazonaws.com")
    headers.setdefault("user-agent", "Mozilla/5.0 (tests)")
    content_type = headers.get("content-type", "")
    encode = body is not None and not (content_type.startswith(("application/json", "text/")))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": headers["host"],
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": headers["user-agent"],
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": "23/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1795428000000,
        },
        "isBase64Encoded": encode,
    }
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query, keep_blank_values=True))
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if encode else body.decode()
    return event
