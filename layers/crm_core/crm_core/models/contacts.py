"""Contacts: one item per person, keyed by a hash of the normalized email address."""

from __future__ import annotations

import base64
import hashlib
import unicodedata

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.models import Model

from crm_core.models.base import SettingsTableName, register


def normalize_email(address: str) -> str:
    """Canonical form of an address for identity: trimmed, NFC, lower-cased.

    Local parts are case-insensitive at every mainstream provider; dots and plus tags are kept,
    since dropping them is only right for some providers.
    """
    return unicodedata.normalize("NFC", address.strip()).lower()


def contact_id_for(address: str) -> str:
    """The stable contact id of an address: no PII in keys, logs or URLs."""
    digest = hashlib.sha256(normalize_email(address).encode("utf-8")).digest()
    return "ct_" + base64.b32encode(digest).decode("ascii").lower().rstrip("=")[:26]


class Touch(MapAttribute[str, str]):
    """Where a contact came from: form, page and campaign parameters, at a time."""

    at = UnicodeAttribute()
    form_id = UnicodeAttribute(null=True)
    source_page = UnicodeAttribute(null=True)
    utm = MapAttribute[str, str](null=True)


class Consent(MapAttribute[str, str]):
    """The latest marketing consent decision, with its evidence."""

    granted = BooleanAttribute()
    at = UnicodeAttribute()
    form_id = UnicodeAttribute(null=True)
    source_page = UnicodeAttribute(null=True)


@register
class Contact(Model):
    """A person the business talks to."""

    class Meta:
        table_name = SettingsTableName("contacts_table")

    contact_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)  # E.164 when it parsed
    phone_raw = UnicodeAttribute(null=True)  # kept when it did not parse
    company = UnicodeAttribute(null=True)
    birthday = UnicodeAttribute(null=True)  # "YYYY-MM-DD" or "--MM-DD"
    locale = UnicodeAttribute(null=True)
    time_zone = UnicodeAttribute(null=True)  # IANA name
    consent = Consent(null=True)
    marketing_opt_out = BooleanAttribute(null=True)
    first_touch = Touch(null=True)
    last_touch = Touch(null=True)
    custom = MapAttribute[str, str](null=True)
    customer_since = UnicodeAttribute(null=True)  # "YYYY-MM-DD" of the first purchase
    tier = UnicodeAttribute(null=True)
    vip = BooleanAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    posts = NumberAttribute(null=True)  # how many form posts merged into this contact
    version = VersionAttribute(null=True)

    @property
    def display_name(self) -> str:
        """First name if known, else the full name, else ''."""
        return self.first_name or " ".join(p for p in (self.first_name, self.last_name) if p) or ""
