"""The outbox: every email moto's SES accepted, parsed back from its raw MIME, stamped by the local clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import Parser
from email.utils import getaddresses
from typing import Any

from crm_core import clock
from infra.template import ACCOUNT_ID


class Outbox:
    """Watches moto's SES backend (same process) and remembers when, on the local clock, each mail left."""

    def __init__(self, region: str, now: Callable[[], datetime]) -> None:
        self.region = region
        self._now = now
        self._sent_at: dict[str, datetime] = {}
        self._seen = 0
        self._lock = threading.Lock()

    def _messages(self) -> list[Any]:
        from moto.ses.models import ses_backends

        return list(ses_backends[ACCOUNT_ID][self.region].sent_messages)

    def stamp_new(self) -> None:
        """Note the local time of every message sent since the last call (called after each moto request)."""
        with self._lock:
            messages = self._messages()
            if len(messages) < self._seen:  # moto was reset
                self._seen = 0
            for message in messages[self._seen :]:
                self._sent_at.setdefault(message.id, self._now())
            self._seen = len(messages)

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        """Every sent email (from the `since`-th on), oldest first, as `GET /_local/outbox` shows it."""
        self.stamp_new()
        return [self._entry(m) for m in self._messages()[since:]]

    def count(self) -> int:
        """How many emails have been sent so far (a mark for `entries(since=...)`)."""
        return len(self._messages())

    def _entry(self, message: Any) -> dict[str, Any]:
        sent_at = self._sent_at.get(message.id)
        entry: dict[str, Any] = {"ses_message_id": message.id, "sent_at": sent_at and clock.iso(sent_at)}
        raw = getattr(message, "raw_data", None)
        if raw is not None:
            entry.update(parse(raw, envelope=list(message.destinations)))
        else:  # SendEmail with Simple content (moto keeps one body) or a template
            to = message.destinations.get("ToAddresses", []) if isinstance(message.destinations, dict) else []
            body = getattr(message, "body", "") or ""
            is_html = body.lstrip().startswith("<")
            entry.update(
                {
                    "from": message.source,
                    "to": ", ".join(to),
                    "cc": "",
                    "reply_to": "",
                    "subject": getattr(message, "subject", ""),
                    "text": "" if is_html else body,
                    "html": body if is_html else "",
                    "headers": {},
                    "envelope": to,
                }
            )
        return entry


def parse(raw: str, envelope: list[str] | None = None) -> dict[str, Any]:
    """from, to, cc, reply_to, subject, text, html and headers of a raw RFC 5322 message."""
    message = Parser(policy=policy.default).parsestr(raw)
    assert isinstance(message, EmailMessage)  # noqa: S101 - narrows the type; policy.default parses to EmailMessage
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    headers: dict[str, str] = {}
    for name, value in message.items():
        headers[name] = f"{headers[name]}, {value}" if name in headers else str(value)
    return {
        "from": str(message.get("From", "")),
        "to": _addresses(message, "To"),
        "cc": _addresses(message, "Cc"),
        "reply_to": str(message.get("Reply-To", "")),
        "subject": str(message.get("Subject", "")),
        "text": text_part.get_content() if text_part is not None else "",
        "html": html_part.get_content() if html_part is not None else "",
        "headers": headers,
        "envelope": [address for _, address in getaddresses(envelope or [])],
    }


def _addresses(message: EmailMessage, header: str) -> str:
    values = [str(v) for v in message.get_all(header, [])]
    return ", ".join(address for _, address in getaddresses(values) if address)
