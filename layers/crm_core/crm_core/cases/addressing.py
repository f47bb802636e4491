"""Case ids and the three ways a reply finds its case: signed reply address, message ids, subject reference.

- Case id: `C-` and six characters of Crockford's base32 (no I, L, O, U): `C-7Q4M2X`.
- Subject reference: `[Case #C-7Q4M2X]` in every message we send about the case.
- Signed reply address: the support address plus `c-7q4m2x.<mac>`:
  `support+c-7q4m2x.k3v9q2mz7a@example.com`; the MAC (crm_core.messaging.tokens) makes it
  unguessable, so knowing a case number is not enough to write into someone else's case.
- Message ids: SES replaces the Message-ID of what we send with its own,
  `<{SES message id}@{region}.amazonses.com>` (`@email.amazonses.com` in us-east-1). We record the
  SES id and match any `...@*.amazonses.com` id by its local part, so the region never matters.
"""

from __future__ import annotations

import re
import secrets

from crm_core.messaging import tokens

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REPLY_PURPOSE = "case-reply-address"
_SUBJECT_REF = re.compile(r"\[\s*Case\s*#\s*(C-[0-9A-Za-z]{6})\s*\]", re.IGNORECASE)
_PLUS_TAG = re.compile(r"^c-([0-9a-z]{6})\.([0-9a-z]{8,})$")


def new_case_id() -> str:
    """A fresh random case id."""
    return "C-" + "".join(secrets.choice(ALPHABET) for _ in range(6))


def subject_reference(case_id: str) -> str:
    """The `[Case #...]` tag written into subjects, so a reply finds its case."""
    return f"[Case #{case_id}]"


def referenced_case(subject: str) -> str | None:
    """The case id a subject refers to with `[Case #...]`, if any."""
    match = _SUBJECT_REF.search(subject or "")
    return match.group(1).upper() if match else None


def reply_address(support_address: str, case_id: str) -> str:
    """The signed plus-address replies to this case should go to."""
    local, _, domain = support_address.partition("@")
    tag = case_id.lower()
    return f"{local}+{tag}.{tokens.mac(tag, REPLY_PURPOSE)}@{domain}"


def case_from_address(address: str, support_address: str) -> str | None:
    """The case a signed plus-address of the support address names; None if absent, foreign or forged."""
    local, _, domain = address.strip().strip("<>").lower().partition("@")
    support_local, _, support_domain = support_address.lower().partition("@")
    base, plus, tag = local.partition("+")
    if not plus or base != support_local or domain != support_domain:
        return None
    match = _PLUS_TAG.match(tag)
    if not match:
        return None
    case_tag = f"c-{match.group(1)}"
    if not tokens.check_mac(case_tag, REPLY_PURPOSE, match.group(2)):
        return None
    return case_tag.upper()


def ses_message_id_header(ses_message_id: str, region: str) -> str:
    """The Message-ID SES gives a message it sends (what the customer's client quotes back)."""
    host = "email.amazonses.com" if region == "us-east-1" else f"{region}.amazonses.com"
    return f"<{ses_message_id}@{host}>"


def link_key(message_id: str) -> str:
    """The key a message id is recorded under: SES ids by their local part, others as written."""
    value = message_id.strip().strip("<>")
    local, _, domain = value.rpartition("@")
    if local and domain.lower().endswith("amazonses.com"):
        return f"msg#ses:{local}"
    return f"msg#{value}"
