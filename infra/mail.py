"""Emails the demo and the benchmark send to the local stack's inbox, and what they read back."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any


def message(sender: str, to: str, subject: str, body: str, *, headers: dict[str, str] | None = None) -> bytes:
    """A plain-text RFC 5322 message from `sender` ("Name <address>"), with a Message-ID of the
    sender's domain and any extra `headers`."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="mail." + sender.rstrip(">").rpartition("@")[2])
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def find_key(value: Any, key: str) -> Any:
    """The first `key` anywhere in a JSON answer (the inbox answers with the function's outcome), or
    None."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = find_key(item, key)
            if found is not None:
                return found
    return None
