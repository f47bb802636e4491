"""The SES receipt rule's Lambda-action event, as a small lenient model of our own.

Powertools' `SesModel` lacks `dkimVerdict` and requires `subject`, `messageId`, `date` and `to`
in `commonHeaders`, which real mail may not have: a message without a subject must still become
a case. Everything we read from the mail itself comes from the copy in S3, never from the event.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Verdict(_Lenient):
    status: str = "GRAY"


class Receipt(_Lenient):
    timestamp: str | None = None
    recipients: list[str] = Field(default_factory=list)
    spam_verdict: Verdict = Field(default_factory=Verdict, alias="spamVerdict")
    virus_verdict: Verdict = Field(default_factory=Verdict, alias="virusVerdict")
    spf_verdict: Verdict = Field(default_factory=Verdict, alias="spfVerdict")
    dkim_verdict: Verdict = Field(default_factory=Verdict, alias="dkimVerdict")
    dmarc_verdict: Verdict = Field(default_factory=Verdict, alias="dmarcVerdict")

    def verdicts(self) -> dict[str, str]:
        return {
            "spam": self.spam_verdict.status,
            "virus": self.virus_verdict.status,
            "spf": self.spf_verdict.status,
            "dkim": self.dkim_verdict.status,
            "dmarc": self.dmarc_verdict.status,
        }


class CommonHeaders(_Lenient):
    from_: list[str] = Field(default_factory=list, alias="from")
    subject: str | None = None
    message_id: str | None = Field(default=None, alias="messageId")


class Mail(_Lenient):
    timestamp: str | None = None
    source: str | None = None  # the envelope sender (MAIL FROM); empty for bounces
    message_id: str = Field(min_length=1, alias="messageId")  # SES's id: the S3 object key's name
    destination: list[str] = Field(default_factory=list)
    common_headers: CommonHeaders = Field(default_factory=CommonHeaders, alias="commonHeaders")


class SesMessage(_Lenient):
    mail: Mail
    receipt: Receipt = Field(default_factory=Receipt)


class SesRecord(_Lenient):
    event_source: Literal["aws:ses"] = Field(alias="eventSource")
    ses: SesMessage


class SesEvent(_Lenient):
    records: list[SesRecord] = Field(min_length=1, alias="Records")
