"""The SES receipt rule's Lambda-action event, as a small lenient model of our own.

Powertools' `SesModel` lacks `dkimVerdict` and requires `subject`, `messageId`, `date` and `to`
in `commonHeaders`, which real mail may not have: a message without a subject must still become
a case. Plain dataclasses rather than pydantic: building pydantic models costs ~100 ms of cold
start, for an event whose shape SES fixes. Everything read from the mail itself comes from the
copy in S3, never from the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

VERDICTS = ("spam", "virus", "spf", "dkim", "dmarc")


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be an object")
    return value


def _optional(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class CommonHeaders:
    """The headers SES parsed from a received message (From, Subject, Message-ID)."""

    from_: list[str] = field(default_factory=list)
    subject: str | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Mail:
    """SES's description of one received message: its id (the S3 object's name) and envelope."""

    message_id: str  # SES's id: the S3 object key's name
    source: str | None = None  # the envelope sender (MAIL FROM); empty for bounces
    timestamp: str | None = None
    destination: list[str] = field(default_factory=list)
    common_headers: CommonHeaders = field(default_factory=CommonHeaders)


@dataclass(frozen=True, slots=True)
class Receipt:
    """SES's receipt of a message: recipients and the spam, virus, SPF, DKIM and DMARC verdicts."""

    recipients: list[str] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)

    def verdicts(self) -> dict[str, str]:
        """spam, virus, spf, dkim, dmarc -> PASS | FAIL | GRAY | PROCESSING_FAILED (GRAY when absent)."""
        return {name: self.statuses.get(name, "GRAY") for name in VERDICTS}


@dataclass(frozen=True, slots=True)
class SesMessage:
    """One record of an SES receipt event: the mail and its receipt."""

    mail: Mail
    receipt: Receipt


@dataclass(frozen=True, slots=True)
class SesEvent:
    """An SES Lambda-action receipt event, read without Powertools' parser models."""

    records: list[SesMessage]

    @classmethod
    def from_event(cls, event: object) -> SesEvent:
        """Read a Lambda-action event; raises ValueError when it is not one."""
        records = _mapping(event, "the event").get("Records")
        if not isinstance(records, list) or not records:
            raise ValueError("Records must be a non-empty list")
        return cls([_record(r, f"Records[{i}]") for i, r in enumerate(records)])


def _record(value: object, where: str) -> SesMessage:
    record = _mapping(value, where)
    if record.get("eventSource") != "aws:ses":
        raise ValueError(f"{where}.eventSource must be aws:ses")
    ses = _mapping(record.get("ses"), f"{where}.ses")
    mail = _mapping(ses.get("mail"), f"{where}.ses.mail")
    message_id = mail.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        raise ValueError(f"{where}.ses.mail.messageId is missing")
    common, receipt = _optional(mail.get("commonHeaders")), _optional(ses.get("receipt"))
    statuses = {}
    for name in VERDICTS:
        verdict = receipt.get(f"{name}Verdict")
        if isinstance(verdict, Mapping) and isinstance(verdict.get("status"), str):
            statuses[name] = verdict["status"]
    return SesMessage(
        mail=Mail(
            message_id=message_id,
            source=str(mail["source"]) if mail.get("source") is not None else None,
            timestamp=str(mail.get("timestamp") or "") or None,
            destination=_strings(mail.get("destination")),
            common_headers=CommonHeaders(
                from_=_strings(common.get("from")),
                subject=str(common["subject"]) if common.get("subject") is not None else None,
                message_id=str(common["messageId"]) if common.get("messageId") is not None else None,
            ),
        ),
        receipt=Receipt(recipients=_strings(receipt.get("recipients")), statuses=statuses),
    )
