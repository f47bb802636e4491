"""Building the raw MIME message SES sends: text + HTML alternatives under headers we write ourselves.

The `email` package builds only the body (its MIME-Version and Content-* headers carry no data);
every header made from data is written by `crm_core.messaging.headers`, which hands nothing to the
`email` package's header parser (it decodes encoded-words into CR/LF on some Python patch levels).
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import parseaddr

from crm_core.messaging import headers as header_builder

AUTO_GENERATED = "auto-generated"  # RFC 3834: sent by a program on its own (campaigns, greetings, alerts)
AUTO_REPLIED = "auto-replied"  # RFC 3834: sent by a program in answer to a message (case acknowledgement)


def header_safe(value: str) -> str:
    """One line of display text with no control character, line separator or encoded-word."""
    return header_builder.clean_text(value, limit=len(value))


def build(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
    auto_submitted: str | None = None,
    sender_name: str | None = None,
) -> bytes:
    """The RFC 5322 bytes of a multipart/alternative message.

    `auto_submitted` ("auto-generated" / "auto-replied") is written as RFC 3834's Auto-Submitted.
    `sender_name`, when given, is the display name of `From` (else the name in `sender`, if any).
    Raises UnsendableAddress when SES cannot send to an address, HeaderError for a custom header
    name that is invalid or one the builder writes itself.
    """
    name, address = parseaddr(sender)  # the sender comes from settings: "crm@x" or "Brand <crm@x>"
    custom = dict(headers or {})
    if auto_submitted:
        custom["Auto-Submitted"] = auto_submitted
    lines = header_builder.build_headers(
        sender=(sender_name or name or None, address or sender),
        to=to,
        subject=subject,
        reply_to=reply_to,
        custom=custom,
    )
    body = EmailMessage(policy=SMTP)
    # Quoted-printable keeps non-ASCII text 7-bit safe across every relay, as SES recommends.
    body.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    body.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return header_builder.render(lines) + body.as_bytes()
