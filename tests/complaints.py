"""Test support for complaints: real-shaped SES Lambda-action events over mail stored in moto's S3."""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import boto3

from crm_core import clock
from crm_core.settings import get_settings
from infra.local import events

_ids = itertools.count(1)
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:crm-local-RouteComplaintFunction"


def compose(
    sender: str = "Ana Rossi <ana@example.it>",
    subject: str = "Il pacco non è arrivato",
    body: str = "Buongiorno, il mio pacco non è ancora arrivato dopo due settimane.",
    *,
    to: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A plain, well-formed message (utf-8)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to or get_settings().support_address
    msg["Subject"] = subject
    msg["Date"] = formatdate(clock.now().timestamp())
    msg["Message-ID"] = make_msgid(domain="mail.example.it")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def ses_event(
    raw: bytes,
    *,
    ses_message_id: str | None = None,
    recipients: list[str] | None = None,
    source: str | None = None,
    store: bool = True,
    **verdicts: str,
) -> dict[str, Any]:
    """Store `raw` where the receipt rule's S3 action would, and return the Lambda action's event, as
    the local stack builds it. `source` is the envelope sender (by default Return-Path's, else From's);
    the verdicts (`spam`, `virus`, `spf`, `dkim`, `dmarc`) are PASS unless given."""
    settings = get_settings()
    message_id = ses_message_id or f"o3vrnil0e2ic28tr{next(_ids):04d}m7dfhrc2v0clambda4nbp0g1"
    if store:
        boto3.client("s3").put_object(
            Bucket=settings.inbound_mail_bucket, Key=f"{settings.inbound_mail_prefix}{message_id}", Body=raw
        )
    return events.ses_inbound_event(
        raw,
        message_id=message_id,
        recipients=recipients or [settings.support_address],
        verdicts={name: verdicts.get(name, "PASS") for name in events.VERDICTS},
        function_arn=FUNCTION_ARN,
        at=clock.now(),
        source=source,
    )
