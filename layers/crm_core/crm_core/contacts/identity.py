"""One person, one contact: the one normalization of an email address, and the contact id made from it.

Every entry point (lead forms, the CSV import, order events, inbound mail, suppressions) derives
identity here, so `user@xn--exmple-cua.de`, `User@EXÄMPLE.de` and `user@exämple.de` are one contact.

The canonical form is the form SES can send to: the local part NFC and lower-cased (mainstream
providers ignore its case; dots and plus tags are kept, since dropping them is right only for some),
the domain in IDNA ASCII (punycode), lower-cased.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata

from crm_core.errors import CrmError, FieldError, ValidationFailed

NON_ASCII_LOCAL_PART = (
    "must have only ASCII letters, digits and symbols before the @: our mail service cannot deliver "
    "to an address such as jörg@example.com (international domains such as müller.de are fine)"
)


class IdentityConflict(CrmError):
    """A message names a contact id that is not the contact of the address it also gives."""


def _ascii_domain(domain: str) -> str:
    """The domain in IDNA ASCII; as given (lower-cased) when it is not a valid IDN (never raises)."""
    if domain.isascii():
        return domain
    import idna  # noqa: PLC0415 - only for the rare international domain

    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return domain


def normalize_email(address: str) -> str:
    """Canonical form of an address for identity (see the module docstring). Never raises: input that
    is not an address comes back trimmed, NFC and lower-cased, so it still has one stable identity."""
    text = unicodedata.normalize("NFC", address.strip()).lower()
    local, at, domain = text.rpartition("@")
    if not at:
        return text
    return f"{local}@{_ascii_domain(domain)}"


def contact_id_for(address: str) -> str:
    """The stable contact id of an address: no PII in keys, logs or URLs."""
    digest = hashlib.sha256(normalize_email(address).encode("utf-8")).digest()
    return "ct_" + base64.b32encode(digest).decode("ascii").lower().rstrip("=")[:26]


def deliverable_address(text: str, field: str = "email") -> str:
    """The address as we store and send to it: local part as written, domain in IDNA ASCII.

    Raises ValidationFailed naming `field` when it is not an address, or when its local part is not
    ASCII (SES cannot send to SMTPUTF8 local parts, so such an address could never get our mail).
    """
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415 - ~40 ms, when used

    local = text.rpartition("@")[0]
    if local and not local.isascii():
        raise ValidationFailed([FieldError(field, NON_ASCII_LOCAL_PART)])
    try:
        valid = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValidationFailed([FieldError(field, f"is not a valid address ({exc})")]) from None
    return f"{valid.local_part}@{valid.ascii_domain}"


def contact_for(email: str | None, contact_id: str | None) -> str:
    """The contact a message is about: from its address, or the contact id it names.

    Raises IdentityConflict when it gives both and they disagree (the id is not the address's), and
    ValueError when it gives neither.
    """
    if email is None and contact_id is None:
        raise ValueError("neither an email address nor a contact id")
    if email is None:
        assert contact_id is not None  # noqa: S101 - narrows the type; checked just above
        return contact_id
    derived = contact_id_for(email)
    if contact_id is not None and contact_id != derived:
        raise IdentityConflict("contact_id is not the contact of the email address given with it")
    return derived
