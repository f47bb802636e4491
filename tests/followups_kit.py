"""Helpers of the follow-up tests: real-shaped events, the outbox as a user reads it, a fake clock.

`http_event` here also fills `queryStringParameters`, as API Gateway does when a query is present
(the unsubscribe links carry their token there).
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

from tests.helpers import http_event, load_handler

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
