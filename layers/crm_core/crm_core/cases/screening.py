"""What an inbound message may cause: quarantine, acknowledgement, threading.

- SES spam or virus verdict FAIL: quarantined, never acknowledged or routed.
- SPF, DKIM or DMARC FAIL: accepted but unverified: never threaded into an existing case (anyone
  can forge a From) and not acknowledged (an ack to a forged address is backscatter).
- Automated mail (RFC 3834 Auto-Submitted, Precedence bulk/junk/list, X-Autoreply, X-Autorespond,
  Exchange's X-Auto-Response-Suppress, a null or MAILER-DAEMON sender, delivery reports, mailing
  lists, out-of-office subjects in en/it/de/id) never gets an acknowledgement: no mail loops.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from crm_core.cases.parsing import ParsedMail

FAIL = "FAIL"
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?\s*(?:reply|response)|out of (?:the )?office|"
    r"risposta automatica|fuori ufficio|assente|"
    r"automatische antwort|abwesenheitsnotiz|abwesend|"
    r"balasan otomatis|di luar kantor|"
    r"undeliverable|undelivered mail|delivery status notification|mail delivery failed|"
    r"returned mail|unzustellbar|non recapitabile)",
    re.IGNORECASE,
)
_ROBOT_SENDERS = ("mailer-daemon@", "postmaster@", "no-reply@", "noreply@", "do-not-reply@", "donotreply@")


@dataclass(frozen=True, slots=True)
class Screening:
    quarantine: str | None  # the reason, when the message must be quarantined
    unverified: bool
    automated: str | None  # why it is automated, when it is


def verdict_failures(verdicts: Mapping[str, str]) -> list[str]:
    """Names of the SES verdicts that are FAIL ("spam", "dkim", ...)."""
    return [name for name, status in verdicts.items() if str(status).upper() == FAIL]


def automated_reason(mail: ParsedMail, envelope_sender: str | None) -> str | None:
    """Why the message is machine-sent (so it must not be answered), or None for a person's mail."""
    headers = mail.headers
    auto = headers.get("auto-submitted", "").lower()
    reasons = [
        ("auto-submitted", bool(auto) and not auto.startswith("no")),
        ("precedence", headers.get("precedence", "").lower() in {"bulk", "junk", "list", "auto_reply"}),
        ("x-autoreply", "x-autoreply" in headers),
        ("x-autorespond", "x-autorespond" in headers),
        (
            "x-auto-response-suppress",
            any(
                v in headers.get("x-auto-response-suppress", "").lower() for v in ("all", "oof", "autoreply")
            ),
        ),
        ("list", "list-id" in headers or "list-post" in headers),
        ("null sender", envelope_sender is not None and envelope_sender.strip() in {"", "<>"}),
        ("null return-path", headers.get("return-path", "").strip() == "<>"),
        ("robot sender", mail.sender.lower().startswith(_ROBOT_SENDERS)),
        ("delivery report", mail.content_type in {"multipart/report", "message/delivery-status"}),
        ("auto-reply subject", bool(_AUTO_SUBJECT.match(mail.subject))),
    ]
    return next((name for name, hit in reasons if hit), None)


def screen(mail: ParsedMail | None, verdicts: Mapping[str, str], envelope_sender: str | None) -> Screening:
    """Decide quarantine, verification and automation for one inbound message."""
    failed = verdict_failures(verdicts)
    quarantine = None
    if "spam" in failed or "virus" in failed:
        quarantine = "ses verdict " + " and ".join(v for v in ("spam", "virus") if v in failed) + " FAIL"
    unverified = any(v in failed for v in ("spf", "dkim", "dmarc"))
    automated = automated_reason(mail, envelope_sender) if mail is not None else None
    return Screening(quarantine=quarantine, unverified=unverified, automated=automated)
