"""SES inbound as Lambda and SNS receive it: the receipt rule's Lambda event and "Received" notification.

The local inbox (`POST /_local/inbox`) and the tests build their events here, so both hand the
functions the same shape.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

from crm_core import clock

VERDICTS = ("spam", "virus", "spf", "dkim", "dmarc")
VERDICT_VALUES = frozenset({"PASS", "FAIL", "GRAY", "PROCESSING_FAILED"})


def ses_message_id() -> str:
    """An id shaped like SES's inbound message ids (also the S3 object name under the prefix)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(40))


def ses_mail_and_receipt(
    raw: bytes,
    *,
    message_id: str,
    recipients: list[str],
    verdicts: dict[str, str],
    action: dict[str, Any],
    at: datetime,
    source: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The `mail` and `receipt` objects SES puts in every inbound event and notification.

    `source` is the envelope sender (MAIL FROM); without it, Return-Path's address, else From's.
    """
    parsed = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    if source is None:
        found = _addresses(parsed.get_all("Return-Path")) or _addresses(parsed.get_all("From"))
        source = (found or [""])[0]
    common = _common_headers(parsed)
    common["returnPath"] = source
    mail = {
        "timestamp": clock.iso(at, milliseconds=True),
        "source": source,
        "messageId": message_id,
        "destination": recipients,
        "headersTruncated": False,
        "headers": [{"name": name, "value": str(value)} for name, value in parsed.items()],
        "commonHeaders": common,
    }
    receipt: dict[str, Any] = {
        "timestamp": clock.iso(at, milliseconds=True),
        "processingTimeMillis": 42,
        "recipients": recipients,
        **{f"{name}Verdict": {"status": verdicts.get(name, "PASS")} for name in VERDICTS},
        "action": action,
    }
    if verdicts.get("dmarc", "PASS") == "FAIL":
        receipt["dmarcPolicy"] = "none"
    return mail, receipt


def _common_headers(parsed: Message) -> dict[str, Any]:
    """SES's `commonHeaders` (returnPath first, filled in by the caller)."""
    common: dict[str, Any] = {
        "returnPath": "",
        "from": [str(v) for v in parsed.get_all("From", [])],
        "date": str(parsed.get("Date", "")),
        "to": [str(v) for v in parsed.get_all("To", [])],
        "messageId": str(parsed.get("Message-ID", "")),
        "subject": str(parsed.get("Subject", "")),
    }
    for header, key in (("Cc", "cc"), ("Reply-To", "replyTo"), ("Sender", "sender")):
        if parsed.get_all(header):
            common[key] = [str(v) for v in parsed.get_all(header, [])]
    return common


def ses_inbound_event(
    raw: bytes,
    *,
    message_id: str,
    recipients: list[str],
    verdicts: dict[str, str],
    function_arn: str,
    at: datetime,
    source: str | None = None,
) -> dict[str, Any]:
    """The event an SES receipt rule's Lambda action (InvocationType Event) delivers."""
    action = {"type": "Lambda", "functionArn": function_arn, "invocationType": "Event"}
    mail, receipt = ses_mail_and_receipt(
        raw,
        message_id=message_id,
        recipients=recipients,
        verdicts=verdicts,
        action=action,
        at=at,
        source=source,
    )
    return {
        "Records": [
            {"eventSource": "aws:ses", "eventVersion": "1.0", "ses": {"mail": mail, "receipt": receipt}}
        ]
    }


def ses_received_notification(
    raw: bytes,
    *,
    message_id: str,
    recipients: list[str],
    verdicts: dict[str, str],
    action: dict[str, Any],
    at: datetime,
    with_content: bool,
) -> dict[str, Any]:
    """The "Received" notification an S3 action (after storing) or an SNS action publishes to SNS."""
    mail, receipt = ses_mail_and_receipt(
        raw, message_id=message_id, recipients=recipients, verdicts=verdicts, action=action, at=at
    )
    notification: dict[str, Any] = {"notificationType": "Received", "mail": mail, "receipt": receipt}
    if with_content:
        encoding = str(action.get("encoding", "UTF-8")).upper()
        notification["content"] = (
            base64.b64encode(raw).decode() if encoding == "BASE64" else raw.decode("utf-8", "replace")
        )
    return notification


def recipients_of(raw: bytes) -> list[str]:
    """The addresses in To and Cc of a raw message (the envelope recipients the local inbox assumes)."""
    parsed = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    return _addresses(parsed.get_all("To", []) + parsed.get_all("Cc", []))


def _addresses(values: list[Any] | None) -> list[str]:
    return [address for _, address in getaddresses([str(v) for v in values or []]) if address]
