"""One person, one contact: the one normalization of an email address, and the contact id made from it.

Every entry point (lead forms, the CSV import, order events, inbound mail, suppressions) derives
identity here, so `user@xn--exmple-cua.de`, `User@EXÄMPLE.de` and `user@exämple.de` are one contact.

The canonical form is the form SES can send to: the local part NFC and lower-cased (mainstream
providers ignore its case; dots and plus tags are kept, since dropping them is right only for some),
the domain in IDNA ASCII (punycode), lower-cased.

A contact id is `ct_` + 26 base32 characters of HMAC-SHA256(identity key, normalized address). The
identity key is the deployment's `IdentityKeySecret` (Secrets Manager, generated at deploy time): without
it, a list of addresses cannot be hashed into ids, so an id in a log line or a link names nobody. The
key is never rotated (a new key would give every person a new id), so it is read once per process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import unicodedata

from crm_core import aws
from crm_core.errors import CrmError, FieldError, ValidationFailed
from crm_core.settings import get_settings

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


_keys: dict[str, bytes] = {}  # secret id -> identity key; never rotated, so kept for the process's life
_key_lock = threading.Lock()
_given_key: bytes | None = None


def identity_key() -> bytes:
    """The deployment's identity key (`IDENTITY_KEY_SECRET`), read from Secrets Manager on first use.

    Raises botocore's ClientError when the secret cannot be read (a function without the grant).
    """
    if _given_key is not None:
        return _given_key
    secret_id = get_settings().identity_key_secret
    with _key_lock:
        key = _keys.get(secret_id)
        if key is None:
            value: str = aws.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
            key = _keys[secret_id] = value.encode("utf-8")
    return key


def use_identity_key(key: bytes | None) -> bytes | None:
    """Derive ids with `key` instead of the secret's (None: the secret again); returns the previous one.
    For code that holds the key already (unit tests, a tool given the key), as `clock.use_clock`."""
    global _given_key  # one process-wide override, like the clock's (PLW0603 is not enabled)
    previous, _given_key = _given_key, key
    return previous


def forget_identity_key() -> None:
    """Drop the cached key (tests, the local stack: each stack, and each function's role, reads its own)."""
    with _key_lock:
        _keys.clear()


def id_from_digest(digest: bytes) -> str:
    """A contact id's text from a 32-byte digest: `ct_` + its first 26 base32 characters, lower-cased."""
    return "ct_" + base64.b32encode(digest).decode("ascii").lower().rstrip("=")[:26]


def keyed_digest(data: bytes, *, key: bytes | None = None) -> bytes:
    """HMAC-SHA256 of `data` under the identity key (or `key`): what ids and their aliases are made of.

    Raises botocore's ClientError when the identity key cannot be read.
    """
    return hmac.new(identity_key() if key is None else key, data, hashlib.sha256).digest()


def contact_id_for(address: str, *, key: bytes | None = None) -> str:
    """The stable contact id of an address: a keyed hash, so an id in a key, a log line or a URL cannot be
    turned back into the address by hashing a list of addresses. `key` defaults to the identity key.

    Raises botocore's ClientError when the identity key cannot be read.
    """
    return id_from_digest(keyed_digest(normalize_email(address).encode("utf-8"), key=key))


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
