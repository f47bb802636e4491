"""The contact 360: everything known about one person, in one answer, from key lookups and Queries only.

DynamoDB calls for one view (asserted by tests/integration/owners/test_contact_owners.py), in two rounds:
1. BatchGetItem: the contact (contacts table) and the points balance (loyalty table);
2. GetItem of the address's suppression (keyed by the address, known from round 1); Query enrollments
   (the contact's partition); Query the sent-message ledger's `by-contact` index (a page, newest
   first); Query the cases table's `by-contact` index (a page, newest first); Query the loyalty
   `history` index (a page of entries, newest first); Query the owners table's `contact#<id>` partition
   (owner, tasks and notes: the timeline);
3. one Query per case on the page for its last event (Limit 1, newest first).

So 7 calls plus one per case shown (CASES_PAGE at most). Messages, cases and ledger entries are paged
with opaque cursors (`messages_cursor`, `cases_cursor`, `ledger_cursor`); a cursor is the part's
DynamoDB position, base64url JSON, checked to belong to the same contact.

Value and lifecycle attributes (`value*`, `lifecycle*`, `rfm*`) appear as the contact item holds them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from crm_core import aws
from crm_core.contacts.identity import contact_id_for, normalize_email
from crm_core.errors import FieldError, NotFound, ValidationFailed
from crm_core.settings import get_settings

MAX_ID_BYTES = 512  # ids are ~30 characters; a longer one is no contact (and no valid DynamoDB key part)
MESSAGES_PAGE = 20
CASES_PAGE = 5
LEDGER_PAGE = 10
PROFILE_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "phone_raw",
    "company",
    "birthday",
    "locale",
    "time_zone",
    "customer_since",
    "tier",
    "vip",
    "custom",
)
EXTRA_PREFIXES = ("value", "lifecycle", "rfm")  # other areas' attributes, shown as stored
CURSORS = {"messages": "contact_id", "cases": "contact_id", "ledger": "contact_id"}


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals as ints or strings, sets as sorted lists: JSON-ready."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _item(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: _plain(v) for k, v in aws.from_dynamodb(raw).items()} if raw else {}


def encode_cursor(key: Mapping[str, Any] | None) -> str | None:
    """An opaque page cursor for the DynamoDB position `key`, None on the last page."""
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(text: str | None, field: str, contact_id: str) -> dict[str, Any] | None:
    """The DynamoDB position a cursor names; ValidationFailed naming `field` when it is not one of ours
    for this contact (a cursor of another contact would read someone else's page)."""
    if not text:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if (
        not isinstance(key, dict)
        or not all(isinstance(v, dict) and len(v) == 1 for v in key.values())
        or key.get("contact_id") != {"S": contact_id}
    ):
        raise ValidationFailed([FieldError(field, "is not a cursor this API gave for this contact")])
    return key


def _query(cursor_field: str = "", **params: Any) -> tuple[list[dict[str, Any]], str | None]:
    """One Query; a start key DynamoDB refuses is the caller's bad cursor (400 naming it), not a 500."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - botocore only when a query is made

    params = {k: v for k, v in params.items() if v is not None}
    try:
        answer = aws.dynamodb().query(**params)
    except ClientError as exc:
        if "ExclusiveStartKey" in params and aws.error_code(exc) == "ValidationException":
            raise ValidationFailed([FieldError(cursor_field, "is not a cursor of this part")]) from None
        raise
    return [_item(i) for i in answer.get("Items", [])], encode_cursor(answer.get("LastEvaluatedKey"))


def find_by_email(address: str) -> str:
    """The contact id of an address, normalized as every entry point does. Raises ValidationFailed."""
    if not address or "@" not in address:
        raise ValidationFailed([FieldError("email", "must be an email address")])
    return contact_id_for(normalize_email(address))  # no read: the 360 that follows finds it or not


def contact_360(contact_id: str, cursors: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    """Everything known about a contact (see the module docstring for the calls it costs).
    Raises NotFound, ValidationFailed (a bad cursor, naming it)."""
    if not contact_id or len(contact_id.encode("utf-8")) > MAX_ID_BYTES:
        raise NotFound(f"no contact {contact_id[:40]}")  # DynamoDB would refuse the key: no such contact
    settings, db = get_settings(), aws.dynamodb()
    cursors = cursors or {}
    starts = {
        part: decode_cursor(cursors.get(f"{part}_cursor"), f"{part}_cursor", contact_id) for part in CURSORS
    }
    contact, balance = _contact_and_balance(contact_id)
    suppression = _item(
        db.get_item(
            TableName=settings.suppressions_table, Key={"email": {"S": normalize_email(contact["email"])}}
        ).get("Item")
    )
    enrollments, _ = _query(
        TableName=settings.enrollments_table,
        KeyConditionExpression="contact_id = :c",
        ExpressionAttributeValues={":c": {"S": contact_id}},
    )
    messages, messages_next = _query(
        TableName=settings.messages_table,
        IndexName="by-contact",
        KeyConditionExpression="contact_id = :c",
        ExpressionAttributeValues={":c": {"S": contact_id}},
        ScanIndexForward=False,
        Limit=MESSAGES_PAGE,
        ExclusiveStartKey=starts["messages"],
        cursor_field="messages_cursor",
    )
    cases, cases_next = _query(
        TableName=settings.cases_table,
        IndexName="by-contact",
        KeyConditionExpression="contact_id = :c",
        ExpressionAttributeValues={":c": {"S": contact_id}},
        ScanIndexForward=False,
        Limit=CASES_PAGE,
        ExclusiveStartKey=starts["cases"],
        cursor_field="cases_cursor",
    )
    entries, ledger_next = _query(
        TableName=settings.loyalty_table,
        IndexName="history",
        KeyConditionExpression="contact_id = :c",
        ExpressionAttributeValues={":c": {"S": contact_id}},
        ScanIndexForward=False,
        Limit=LEDGER_PAGE,
        ExclusiveStartKey=starts["ledger"],
        cursor_field="ledger_cursor",
    )
    own, _ = _query(
        TableName=settings.owners_table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"contact#{contact_id}"}},
    )
    owned = _owned(own)
    for case in cases:
        case["last_event"] = _last_event(case["pk"])
    notes = owned.pop("notes")
    return {
        "contact_id": contact_id,
        **_profile_part(contact),
        "consent": _consent(contact, suppression),
        "suppression": _suppression(suppression),
        "enrollments": [_enrollment(e) for e in enrollments],
        "messages": {"items": [_message(m) for m in messages], "next_cursor": messages_next},
        "cases": {"items": [_case(c) for c in cases], "next_cursor": cases_next},
        "loyalty": _loyalty(balance, entries, ledger_next),
        **_extras(contact),
        **owned,
        "timeline": _timeline(notes, messages, cases),
    }


def _contact_and_balance(contact_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The contact and its loyalty balance (one BatchGetItem); raises NotFound."""
    settings = get_settings()
    key = {"contact_id": {"S": contact_id}}
    batch = aws.dynamodb().batch_get_item(
        RequestItems={
            settings.contacts_table: {"Keys": [key]},
            settings.loyalty_table: {"Keys": [{**key, "entry_key": {"S": "balance"}}]},
        }
    )
    responses = batch.get("Responses", {})
    contacts = responses.get(settings.contacts_table, [])
    if not contacts:
        raise NotFound(f"no contact {contact_id}")
    balances = responses.get(settings.loyalty_table, [])
    return _item(contacts[0]), _item(balances[0]) if balances else None


def _last_event(case_pk: str) -> dict[str, Any] | None:
    """A case's latest event (its kind and time only)."""
    events, _ = _query(
        TableName=get_settings().cases_table,
        KeyConditionExpression="pk = :p AND begins_with(sk, :e)",
        ExpressionAttributeValues={":p": {"S": case_pk}, ":e": {"S": "event#"}},
        ScanIndexForward=False,
        Limit=1,
        ProjectionExpression="kind, #at",
        ExpressionAttributeNames={"#at": "at"},
    )
    return events[0] if events else None


def _profile_part(contact: dict[str, Any]) -> dict[str, Any]:
    """The 360's profile, field sources, origin and dates."""
    return {
        "profile": {f: contact.get(f) for f in PROFILE_FIELDS if contact.get(f) is not None},
        "field_sources": contact.get("field_sources") or {},
        "origin": {"first_touch": contact.get("first_touch"), "last_touch": contact.get("last_touch")},
        "created_at": contact.get("created_at"),
        "updated_at": contact.get("updated_at"),
    }


def _extras(contact: dict[str, Any]) -> dict[str, Any]:
    """Attributes other areas keep on the contact (value, lifecycle...), shown as they are."""
    return {k: v for k, v in contact.items() if k.startswith(EXTRA_PREFIXES)}


def _timeline(
    notes: list[dict[str, Any]], messages: list[dict[str, Any]], cases: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Notes, messages and cases (of the pages shown), newest first."""
    lines = [
        {"at": n["at"], "type": "note", "author": n["author"], "text": n["text"], "id": n["note_id"]}
        for n in notes
    ]
    lines += [
        {
            "at": m.get("sent_at") or m.get("claimed_at"),
            "type": "message",
            "kind": m.get("kind"),
            "outcome": m.get("status"),
        }
        for m in messages
    ]
    lines += [
        {"at": c.get("opened_at"), "type": "case", "id": c.get("pk"), "subject": c.get("subject")}
        for c in cases
    ]
    return sorted(lines, key=lambda line: str(line.get("at") or ""), reverse=True)


def _consent(contact: Mapping[str, Any], suppression: Mapping[str, Any]) -> dict[str, Any]:
    """The current decision with its evidence, and its history: every decision recorded on the contact
    (crm_core.contacts.history), and the bounce or complaint that suppressed the address."""
    events = [dict(e) for e in contact.get("consent_log") or []]
    if not events and contact.get("consent"):  # a contact from before the history was kept
        decision = dict(contact["consent"])
        events.append({"event": "granted" if decision.get("granted") else "refused", **decision})
    if suppression and suppression.get("scope") == "all":
        events.append({"event": str(suppression.get("reason")), "at": suppression.get("at"), "source": "ses"})
    return {
        "current": contact.get("consent"),
        "pending": contact.get("consent_pending"),
        "marketing_opt_out": bool(contact.get("marketing_opt_out")),
        "history": sorted(events, key=lambda e: str(e.get("at") or "")),
    }


def _suppression(item: Mapping[str, Any]) -> dict[str, Any] | None:
    if not item or item.get("scope") == "none":
        return None
    return {"scope": item.get("scope"), "reason": item.get("reason"), "at": item.get("at")}


def _enrollment(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: item.get(k)
        for k in (
            "campaign",
            "enrollment_key",
            "status",
            "step",
            "enrolled_at",
            "due_at",
            "exit_reason",
            "finished_at",
        )
    }


def _message(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": item.get("kind"),
        "occurrence": item.get("occurrence"),
        "at": item.get("sent_at") or item.get("claimed_at"),
        "ses_message_id": item.get("ses_message_id"),
        "outcome": item.get("status"),
        "reason": item.get("reason"),
        "confirmed_by": item.get("confirmed_by"),
    }


def _case(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "case_id": item.get("pk"),
        "subject": item.get("subject"),
        "status": item.get("status"),
        "priority": item.get("priority"),
        "team": item.get("team"),
        "opened_at": item.get("opened_at"),
        "updated_at": item.get("updated_at"),
        "last_event": item.get("last_event"),
    }


def _loyalty(
    balance: Mapping[str, Any] | None, entries: list[dict[str, Any]], cursor: str | None
) -> dict[str, Any]:
    recent = [
        {
            k: e.get(k)
            for k in ("entry_key", "kind", "points", "balance_after", "recorded_at", "order_id", "reason")
        }
        for e in entries
    ]
    return {
        "balance": (balance or {}).get("balance", 0),
        "tier": (balance or {}).get("tier"),
        "lifetime_points": (balance or {}).get("lifetime_points", 0),
        "entries": {"items": recent, "next_cursor": cursor},
    }


def _owned(items: list[dict[str, Any]]) -> dict[str, Any]:
    from crm_core.owners.directory import load  # noqa: PLC0415 - the owners file only when a view names owners

    owner, tasks, notes = None, [], []
    for item in items:
        sk = str(item.get("sk"))
        if sk == "owner":
            staff = load().staff.get(str(item.get("owner_key")))
            owner = {
                **(staff.public() if staff else {"id": item.get("owner_key")}),
                "set_by": item.get("set_by"),
                "at": item.get("at"),
            }
        elif sk.startswith("task#") and item.get("status") == "open":
            tasks.append(
                {k: item.get(k) for k in ("task_id", "owner", "due", "note", "created_by", "created_at")}
            )
        elif sk.startswith("note#"):
            notes.append({k: item.get(k) for k in ("note_id", "text", "author", "at")})
    return {"owner": owner, "open_tasks": sorted(tasks, key=lambda t: str(t["due"])), "notes": notes}
