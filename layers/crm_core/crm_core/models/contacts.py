"""Contacts: one item per person, keyed by a hash of the normalized email address."""

from __future__ import annotations

import unicodedata
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from crm_core.contacts.identity import contact_id_for, normalize_email
from crm_core.models.base import SettingsTableName, register
from crm_core.sharding import shard_of

__all__ = ["Contact", "contact_id_for", "normalize_email", "occasion_day"]


OCCASION_SHARDS = 4  # spreads one popular day (say 01-01) over a few index partitions


def occasion_day(date_text: str | None, contact_id: str) -> str | None:
    """Index key of a yearly occasion: "MM-DD#shard" from "YYYY-MM-DD" or "--MM-DD"; None if unknown.

    Contacts write it when their birthday or customer-since date is set; the occasions run queries
    the two or three month-days that are "today" somewhere on Earth, shard by shard.
    """
    if not date_text or len(date_text) < 7:
        return None
    month_day = date_text[-5:]
    return f"{month_day}#{shard_of(contact_id, OCCASION_SHARDS)}"


class OccasionIndex(GlobalSecondaryIndex["Contact"]):
    """Base of the sparse indexes by month-day: only contacts with that date are in them."""


class BirthdayIndex(OccasionIndex):
    class Meta:
        index_name = "birthday-day"
        projection = KeysOnlyProjection()

    birthday_day = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute(range_key=True)


class AnniversaryIndex(OccasionIndex):
    class Meta:
        index_name = "anniversary-day"
        projection = KeysOnlyProjection()

    anniversary_day = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute(range_key=True)


class LifecycleReviewIndex(GlobalSecondaryIndex["Contact"]):
    """Sparse: contacts whose lifecycle stage or value may change by time alone, by "YYYY-MM-DD#shard"."""

    class Meta:
        index_name = "lifecycle-review"
        projection = KeysOnlyProjection()

    lifecycle_review = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute(range_key=True)


class Touch(MapAttribute[str, str]):
    """Where a contact came from: form, page and campaign parameters, at a time."""

    at = UnicodeAttribute()
    form_id = UnicodeAttribute(null=True)
    source_page = UnicodeAttribute(null=True)
    utm = MapAttribute[str, str](null=True)
    message = UnicodeAttribute(null=True)  # what the person wrote in the form, if anything


class Consent(MapAttribute[str, str]):
    """The latest marketing consent decision, with its evidence."""

    granted = BooleanAttribute()
    at = UnicodeAttribute()
    form_id = UnicodeAttribute(null=True)
    source_page = UnicodeAttribute(null=True)
    # Who said so (crm_core.leads.merge.Source): "form", "import", "order", "agent" or "confirmed" (the
    # address owner followed the emailed link). None on decisions recorded before sources existed.
    source = UnicodeAttribute(null=True)


class ConsentEvent(MapAttribute[str, str]):
    """One consent decision kept in the contact's history (crm_core.contacts.history)."""

    event = UnicodeAttribute()  # granted | refused | confirmation-requested | confirmed | unsubscribed
    at = UnicodeAttribute()
    source = UnicodeAttribute(null=True)  # form | import | order | agent | confirmed | link
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
    # A consent that waits for the address owner to confirm it (double opt-in); `at` names the link sent.
    consent_pending = Consent(null=True)
    # Every consent decision, oldest first, the last CONSENT_HISTORY (crm_core.contacts.history).
    consent_log = ListAttribute[ConsentEvent](of=ConsentEvent, null=True)
    # Which source last set each profile field (field -> Source value): a less trusted one never overwrites.
    field_sources = MapAttribute[str, str](null=True)
    first_touch = Touch(null=True)
    last_touch = Touch(null=True)
    custom = MapAttribute[str, str](null=True)
    customer_since = UnicodeAttribute(null=True)  # "YYYY-MM-DD" of the first purchase (or given on import)
    birthday_day = UnicodeAttribute(null=True)  # occasion_day(birthday): BirthdayIndex key
    anniversary_day = UnicodeAttribute(null=True)  # occasion_day(customer_since): AnniversaryIndex key
    tier = UnicodeAttribute(null=True)  # loyalty tier, kept here for routing and priority
    vip = BooleanAttribute(null=True)  # flagged most-valuable by the business
    open_cases = NumberAttribute(null=True)  # complaint cases not yet resolved: pauses marketing
    created_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    posts = NumberAttribute(null=True)  # how many form posts merged into this contact
    # The last few submission ids with their first answer ("<id> created"/"<id> merged"): a replayed
    # post finds its id here and gets the same answer without writing (crm_core.leads.merge).
    recent_posts = ListAttribute[str](null=True)
    version = VersionAttribute(null=True)
    # Customer value and lifecycle (crm_core.value, crm_core.lifecycle; docs/customer-value.md and
    # docs/lifecycle.md give their shapes). Written there only; declared so that a save here keeps them.
    customer_value = MapAttribute[str, Any](null=True, attr_name="value")
    most_valuable = BooleanAttribute(null=True)  # in the top share by 12-month value (vip: by an agent)
    lifecycle = MapAttribute[str, Any](null=True)
    lifecycle_review = UnicodeAttribute(null=True)  # LifecycleReviewIndex key

    birthday_index = BirthdayIndex()
    anniversary_index = AnniversaryIndex()
    lifecycle_review_index = LifecycleReviewIndex()

    @property
    def display_name(self) -> str:
        """How a message greets the contact: the first name if it is a plausible name, else the last
        name if it is, else '' (the nameless greeting). See `greeting_name`."""
        return greeting_name(self.first_name) or greeting_name(self.last_name)


GREETING_NAME_MAX = 40  # characters; longer is a sentence or a payload, not a name to greet by
GREETING_NAME_WORDS = 4  # "María José García López"; more words read as a sentence
_NAME_PUNCTUATION = frozenset("'’-‐. ")


def greeting_name(value: str | None) -> str:
    """The name a message may greet someone by, or '' for the nameless greeting.

    Only a plausible personal name is used (mail under the brand must not carry a sentence, a link
    or an address someone typed into a form): letters of any script with their combining marks,
    spaces, apostrophes, hyphens and dots, at most GREETING_NAME_MAX characters and
    GREETING_NAME_WORDS words, a letter first, and a dot only to end an initial ("J. R."), so
    "example.com" is not a name. No digit, "@", "/", ":" or any other sign. Raises nothing.
    """
    name = " ".join(unicodedata.normalize("NFC", value or "").split())
    if not name or len(name) > GREETING_NAME_MAX or len(name.split()) > GREETING_NAME_WORDS:
        return ""
    if not unicodedata.category(name[0]).startswith("L"):
        return ""
    for index, char in enumerate(name):
        category = unicodedata.category(char)
        if category.startswith(("L", "M")):
            continue
        if char not in _NAME_PUNCTUATION:
            return ""
        if char == "." and index + 1 < len(name) and name[index + 1] != " ":
            return ""  # a dot inside a word: a domain or a URL, not an initial
    return name
