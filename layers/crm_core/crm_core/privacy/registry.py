"""Every store that can hold something about a person, and how export and erasure find it there.

One entry per DynamoDB table and S3 bucket of template.yaml (a test fails when one is missing), in the
order erasure walks them: first what stops mail (the suppression, then the sequences), then the
profile, then the records, last the requests themselves. Each entry says how a person's items are
found (a key, a partition, an index, a prefix), what export collects, what erasure does, and what is
kept and why (empty: nothing). A store added to the template gets one entry here:

    Store("WishlistsTable", "wishlists_table", TABLE, found_by="partition key contact_id",
          collect=partition("contact_id"), erase=delete_partition("contact_id", "item_key"))

Every `erase` is safe to run again after a crash at any point (deleting what is gone is no error; a
moved item is written before its original is deleted; a case's locator, its contact id, changes last).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from crm_core import aws, clock
from crm_core.contacts.identity import normalize_email
from crm_core.privacy import storage
from crm_core.privacy.storage import Item
from crm_core.settings import get_settings

TABLE, BUCKET = "table", "bucket"
ERASURE_NOTE = "Closed because the customer's personal data was erased at their request (GDPR Art. 17)."


@dataclass(frozen=True)
class Subject:
    """The person a job is about: their contact id and address (read from the contact before anything is
    erased, and kept in the job until it is done), and the pseudonym records kept for other laws get."""

    contact_id: str
    email: str | None
    pseudonym: str


Collect = Callable[[Subject, str], list[Item]]
Erase = Callable[[Subject, str], int]


@dataclass(frozen=True)
class Store:
    """One table or bucket. `setting` is the Settings field holding its name; `collect` returns the
    person's items (export), `erase` removes them and returns how many it touched."""

    resource: str  # logical id in template.yaml
    setting: str
    kind: str  # TABLE | BUCKET
    found_by: str
    collect: Collect
    erase: Erase
    kept: str = ""

    @property
    def name(self) -> str:
        """The table's or bucket's name, from settings."""
        return str(getattr(get_settings(), self.setting))


# ---- generic locators and erasers -----------------------------------------------------------------------
def partition(attribute: str, prefix: str = "") -> Collect:
    """Items whose partition key `attribute` is the contact id (after `prefix`: `contact#<id>`)."""
    return lambda subject, table: list(storage.query(table, attribute, prefix + subject.contact_id))


def delete_partition(attribute: str, sort_key: str | None = None, prefix: str = "") -> Erase:
    """An eraser that deletes every item of the contact's partition (after `prefix`)."""

    def erase(subject: Subject, table: str) -> int:
        items = partition(attribute, prefix)(subject, table)
        for item in items:
            key = {attribute: item[attribute]} | ({sort_key: item[sort_key]} if sort_key else {})
            storage.delete(table, key)
        return len(items)

    return erase


def by_key(attribute: str, value: Callable[[Subject], str | None]) -> Collect:
    """The one item keyed by a value derived from the person (their contact id, their address)."""

    def collect(subject: Subject, table: str) -> list[Item]:
        key = value(subject)
        item = storage.get(table, {attribute: key}) if key else None
        return [item] if item else []

    return collect


def delete_key(attribute: str, value: Callable[[Subject], str | None]) -> Erase:
    """An eraser that deletes the items whose key `attribute` is `value` of the subject."""

    def erase(subject: Subject, table: str) -> int:
        found = by_key(attribute, value)(subject, table)
        for item in found:
            storage.delete(table, {attribute: item[attribute]})
        return len(found)

    return erase


def by_index(index: str, attribute: str, keys: tuple[str, ...]) -> Collect:
    """Items found through index `index` whose key `attribute` is the contact id (each read in full)."""

    def collect(subject: Subject, table: str) -> list[Item]:
        found = []
        for entry in storage.query(table, attribute, subject.contact_id, index=index):
            item = storage.get(table, {k: entry[k] for k in keys})
            if item is not None:
                found.append(item)
        return found

    return collect


def delete_by_index(index: str, attribute: str, keys: tuple[str, ...]) -> Erase:
    """An eraser that deletes the contact's items found through `index`."""

    def erase(subject: Subject, table: str) -> int:
        entries = list(storage.query(table, attribute, subject.contact_id, index=index))
        for entry in entries:
            storage.delete(table, {k: entry[k] for k in keys})
        return len(entries)

    return erase


# ---- suppressions: kept as a keyed hash -----------------------------------------------------------------
def _erase_suppression(subject: Subject, table: str) -> int:
    """Replace the address's suppression by one under a keyed hash of it (scope all): the erased address is
    never mailed again, and the item names nobody. Written first, so a crash leaves no gap."""
    from crm_core.messaging.suppressions import SCOPE_ALL, erased_keys  # noqa: PLC0415 - each area's code only when its data is erased
    from crm_core.models.messages import Suppression  # noqa: PLC0415 - each area's code only when its data is erased

    if not subject.email:
        return 0
    Suppression(erased_keys(subject.email)[0], scope=SCOPE_ALL, reason="erased", at=clock.now()).save()
    storage.delete(table, {"email": normalize_email(subject.email)})
    return 1


# ---- cases and the mail they hold -------------------------------------------------------------------------
def _cases(subject: Subject, table: str) -> list[Item]:
    return list(storage.query(table, "contact_id", subject.contact_id, index="by-contact"))


def _case_records(subject: Subject, table: str) -> list[Item]:
    """The person's cases with every event, and their hourly acknowledgement window."""
    records: list[Item] = []
    for case in _cases(subject, table):
        records.extend(storage.query(table, "pk", case["pk"]))
    window = storage.get(table, {"pk": f"ackrate#{subject.contact_id}", "sk": "sliding"})
    return records + ([window] if window else [])


def _mail_keys(subject: Subject) -> list[str]:
    """Keys of the raw emails the person sent us, as their cases' inbound events recorded them."""
    keys = []
    for record in _case_records(subject, get_settings().cases_table):
        detail = _json(record.get("detail"))
        if record.get("kind") == "inbound" and isinstance(detail.get("s3_key"), str):
            keys.append(detail["s3_key"])
    return list(dict.fromkeys(keys))


def _collect_mail(subject: Subject, bucket: str) -> list[Item]:
    return [{"key": key} for key in _mail_keys(subject)]


def _erase_mail(subject: Subject, bucket: str) -> int:
    """Delete every version of each raw email (the bucket is versioned: a plain delete would only hide it)."""
    count = 0
    for key in _mail_keys(subject):
        for found, version in storage.object_versions(bucket, key):
            if found == key:
                aws.s3().delete_object(Bucket=bucket, Key=key, VersionId=version)
                count += 1
    return count


_CASE_PERSONAL = ("email", "name", "subject", "last_message_id", "source_message", "locale")
_CASE_SCHEDULE = ("due_shard", "due_at", "paused_at")
_EVENT_KEPT = ("pk", "sk", "kind", "at", "routed")


def _erase_cases(subject: Subject, table: str) -> int:
    """Close each open case with a note and keep it pseudonymised (team, category, priority and timings, for
    the service's statistics); strip every event to its kind and time; delete message links and the
    acknowledgement window. The case's contact id (what finds it) is replaced last."""
    at = _now()
    cases = _cases(subject, table)
    for case in cases:
        for event in [r for r in storage.query(table, "pk", case["pk"]) if r["sk"] != case["sk"]]:
            _strip_event(subject, table, event)
        kept = {k: v for k, v in case.items() if k not in _CASE_PERSONAL + _CASE_SCHEDULE}
        if case.get("status") != "resolved":
            note = {"from": case.get("status"), "to": "resolved", "by": "erasure", "note": ERASURE_NOTE}
            storage.put(
                table,
                {
                    "pk": case["pk"],
                    "sk": f"event#{at}#status#erasure",
                    "kind": "status",
                    "at": at,
                    "detail": json.dumps(note),
                },
            )
            kept |= {"status": "resolved", "resolved_at": at, "updated_at": at}
        storage.put(table, kept | {"contact_id": subject.pseudonym, "erased": True})
    storage.delete(table, {"pk": f"ackrate#{subject.contact_id}", "sk": "sliding"})
    return len(cases)


def _strip_event(subject: Subject, table: str, event: Item) -> None:
    """Delete the message and survey links a case event holds, and keep the event's kind and time only."""
    from crm_core.cases.addressing import link_key  # noqa: PLC0415 - each area's code only when its data is erased

    links = {link_key(str(event[k])) for k in ("message_id", "ses_message_id") if event.get(k)}
    if event.get("ses_message_id"):
        links.add(f"msg#ses-in:{event['ses_message_id']}")  # the inbound guard (cases.intake)
    survey_link = _survey_link(subject, str(event["sk"]))
    if survey_link:
        links.add(survey_link)
    for link in links:
        storage.delete(table, {"pk": link, "sk": "link"})
    storage.put(table, {k: v for k, v in event.items() if k in _EVENT_KEPT})


def _survey_link(subject: Subject, event_key: str) -> str | None:
    """The link `survey#<contact id>#<survey>#<occasion>` of a low score's case, from its survey event's
    key `event#<time>#survey#<survey>#<occasion>` (kept when the event is stripped: a resumed erasure
    finds it)."""
    from crm_core.surveys.cases import guard_key  # noqa: PLC0415 - each area's code only when its data is erased

    parts = event_key.split("#", 4)
    if len(parts) == 5 and parts[0] == "event" and parts[2] == "survey":
        return guard_key(subject.contact_id, parts[3], parts[4])
    return None


# ---- loyalty: financial entries kept, pseudonymised -------------------------------------------------------
_LEDGER_KINDS = ("purchase#", "refund#", "redeem#", "expiry#", "adjust#", "birthday#", "goodwill#", "bonus#")


def _value_claim_key(item: Item) -> dict[str, str] | None:
    """The key of the customer-value claim `value#<event id>` an order's ledger entry was counted under."""
    from crm_core.value.store import CLAIM_PREFIX  # noqa: PLC0415 - each area's code only when its data is erased

    event_id = item.get("event_id")
    if not str(item["entry_key"]).startswith(_LEDGER_KINDS) or not isinstance(event_id, str):
        return None
    return {"contact_id": CLAIM_PREFIX + event_id, "entry_key": "value"}


def _loyalty_records(subject: Subject, table: str) -> list[Item]:
    """The person's partition, and the customer-value claims of their orders (which name them in
    `for_contact`), found through the event ids their ledger entries record."""
    items = partition("contact_id")(subject, table)
    claims = [storage.get(table, key) for key in filter(None, map(_value_claim_key, items))]
    return items + [c for c in claims if c is not None and c.get("for_contact") == subject.contact_id]


def _erase_loyalty(subject: Subject, table: str) -> int:
    """Move each ledger entry (a financial record) to the pseudonym's partition; delete the balance, order
    records and lot markers. Each entry is written under the pseudonym before its original is deleted,
    and its customer-value claim loses `for_contact` before that (the entry's event id finds the claim,
    so a resumed job still does). The claim itself stays: a replayed order event is still counted once."""
    items = partition("contact_id")(subject, table)
    for item in items:
        claim_key = _value_claim_key(item)
        claim = storage.get(table, claim_key) if claim_key else None
        if claim is not None and claim.get("for_contact") == subject.contact_id:
            storage.put(table, {k: v for k, v in claim.items() if k != "for_contact"})
        if str(item["entry_key"]).startswith(_LEDGER_KINDS):
            storage.put(table, item | {"contact_id": subject.pseudonym})
        storage.delete(table, {"contact_id": subject.contact_id, "entry_key": item["entry_key"]})
    return len(items)


# ---- exports and requests -----------------------------------------------------------------------------
def export_prefix(contact_id: str) -> str:
    """The S3 prefix under which a contact's exports are written."""
    return f"exports/{contact_id}/"


def _erase_exports(subject: Subject, bucket: str) -> int:
    keys = list(storage.object_keys(bucket, export_prefix(subject.contact_id)))
    for key in keys:
        aws.s3().delete_object(Bucket=bucket, Key=key)
    return len(keys)


def _other_requests(subject: Subject, table: str) -> list[Item]:
    return [
        r
        for r in by_index("by-contact", "contact_id", ("request_id",))(subject, table)
        if r.get("kind") != "erasure"
    ]


def _erase_requests(subject: Subject, table: str) -> int:
    """Delete the person's export requests; the erasure request itself drops their id when it is done."""
    found = _other_requests(subject, table)
    for request in found:
        storage.delete(table, {"request_id": request["request_id"]})
    return len(found)


def _email(subject: Subject) -> str | None:
    """The suppression list's key of the person's address (normalized, as every entry point writes it)."""
    return normalize_email(subject.email) if subject.email else None


def _contact(subject: Subject) -> str:
    return subject.contact_id


STORES: tuple[Store, ...] = (
    Store(
        "SuppressionsTable",
        "suppressions_table",
        TABLE,
        "key: the normalized address",
        collect=by_key("email", _email),
        erase=_erase_suppression,
        kept="A suppression (scope all, reason erased) under an HMAC of the address with the signing key: "
        "the address is never mailed again, and the item cannot be read back into an address.",
    ),
    Store(
        "EnrollmentsTable",
        "enrollments_table",
        TABLE,
        "partition key contact_id",
        collect=partition("contact_id"),
        erase=delete_partition("contact_id", "enrollment_key"),
    ),
    Store(
        "ContactsTable",
        "contacts_table",
        TABLE,
        "key contact_id (its occasion and lifecycle-review index entries follow the item)",
        collect=by_key("contact_id", _contact),
        erase=delete_key("contact_id", _contact),
    ),
    Store(
        "MessagesTable",
        "messages_table",
        TABLE,
        "index by-contact (contact_id)",
        collect=by_index("by-contact", "contact_id", ("message_key",)),
        erase=delete_by_index("by-contact", "contact_id", ("message_key",)),
    ),
    Store(
        "InboundMailBucket",
        "inbound_mail_bucket",
        BUCKET,
        "object keys recorded by the person's cases",
        collect=_collect_mail,
        erase=_erase_mail,
    ),
    Store(
        "CasesTable",
        "cases_table",
        TABLE,
        "index by-contact, then each case's partition; key ackrate#<id>",
        collect=_case_records,
        erase=_erase_cases,
        kept="Each case, closed, with its team, category, priority and timings and each event's kind and "
        "time only, under a random pseudonym: service statistics and SLA reports stay whole. Message "
        "links and a low survey score's link (survey#<contact id>#...) are deleted.",
    ),
    Store(
        "SurveysTable",
        "surveys_table",
        TABLE,
        "partition key pk = contact id",
        collect=partition("pk"),
        erase=delete_partition("pk", "sk"),
        kept="The daily counters (partition stats#<survey>#<grouping>: sent, answered and per-score counts "
        "by day and locale, team or tier) name nobody and stay: the survey results.",
    ),
    Store(
        "OwnersTable",
        "owners_table",
        TABLE,
        "partition key pk = contact#<contact id> (indexes by-owner, open-tasks follow the items)",
        collect=partition("pk", "contact#"),
        erase=delete_partition("pk", "sk", "contact#"),
        kept="The round-robin counters (partition rr#<team>) count assignments per team and name nobody.",
    ),
    Store(
        "LoyaltyTable",
        "loyalty_table",
        TABLE,
        "partition key contact_id; value#<event id> of each ledger entry's event id",
        collect=_loyalty_records,
        erase=_erase_loyalty,
        kept="Ledger entries (points earned, refunded, redeemed, with order ids and amounts) under a random "
        "pseudonym: accounting records that tax law keeps for years (10 in Italy and Germany). The shop's "
        "event-id claims (partition event#<id>: type, time, a digest of the event) name no contact and stay. "
        "The customer-value claims (value#<event id>) stay without for_contact (an event id and a time: a "
        "replayed order is still counted once). The value sketch (value#sketch) is bucket counts of the "
        "whole base, no contact in it: it stays.",
    ),
    Store(
        "PrivacyExportsBucket",
        "privacy_exports_bucket",
        BUCKET,
        "prefix exports/<contact_id>/",
        collect=lambda subject, bucket: [],
        erase=_erase_exports,
    ),
    Store(
        "PrivacyRequestsTable",
        "privacy_requests_table",
        TABLE,
        "index by-contact (contact_id)",
        collect=_other_requests,
        erase=_erase_requests,
        kept="The erasure request itself, keyed by an HMAC of the contact id, with its dates and counts and "
        "no id or address: the proof that the erasure was done (GDPR Art. 5(2)).",
    ),
)


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _now() -> str:
    return clock.now().astimezone(UTC).isoformat().replace("+00:00", "Z")
