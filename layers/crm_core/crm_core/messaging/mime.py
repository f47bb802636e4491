"""Building the raw MIME message SES sends: text + HTML alternatives, safe headers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr

_CONTROL = re.compile(r"[\r\n\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+")


def header_safe(value: str) -> str:
    """A header value with every CR, LF and control character folded to a space (no header injection)."""
    return " ".join(_CONTROL.sub(" ", value).split())


def display_address(name: str | None, address: str) -> str:
    """`"Name" <address>` with the name made header-safe and encoded as needed."""
    clean = header_safe(name or "")
    return formataddr((clean, header_safe(address))) if clean else header_safe(address)


def build(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """The RFC 5322 bytes of a multipart/alternative message; every header value is sanitized."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = header_safe(sender)
    msg["To"] = Address(addr_spec=header_safe(to)) if "@" in to else header_safe(to)
    msg["Subject"] = header_safe(subject)
    if reply_to:
        msg["Reply-To"] = header_safe(reply_to)
    for name, value in (headers or {}).items():
        msg[header_safe(name)] = header_safe(value)
    # Quoted-printable keeps non-ASCII text 7-bit safe across every relay, as SES recommends.
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg.as_bytes()
