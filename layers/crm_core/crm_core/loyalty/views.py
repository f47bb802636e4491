"""What the shop and the account page read: the balance with its tier, and the ledger page by page."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from crm_core import clock
from crm_core.errors import FieldError, NotFound, ValidationFailed
from crm_core.loyalty import store
from crm_core.loyalty.account import qualifying_points
from crm_core.loyalty.rules import rulebook
from crm_core.models.loyalty import LedgerEntry

MAX_PAGE = 100


@dataclass(frozen=True)
class Summary:
    """A contact's loyalty summary, as the API answers it."""

    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The summary as the API's JSON body."""
        return self.body


def summary(contact_id: str) -> Summary:
    """Balance, debt, tier, lifetime points, the next tier and the next expiry of a contact.
    Raises NotFound when neither a contact nor an account exists."""
    account = store.load_account(contact_id)
    if account.version is None and store.load_contact(contact_id) is None:
        raise NotFound(f"contact {contact_id} does not exist")
    today = clock.now().date()
    rules = rulebook().current(today)
    tier = account.tier or rules.base_tier
    qualifying = qualifying_points(account, today)
    upcoming = rules.next_tier(tier)
    next_expiry = None
    if account.lots:
        first = min(lot.expires_on for lot in account.lots)
        points = sum(lot.points for lot in account.lots if lot.expires_on == first)
        next_expiry = {"on": first.isoformat(), "points": points}
    return Summary(
        {
            "contact_id": contact_id,
            "balance": account.balance,
            "available": account.available,
            "debt": account.debt,
            "tier": tier,
            "tier_since": account.tier_since.isoformat() if account.tier_since else None,
            "multiplier": str(rules.tier_rule(tier).multiplier),
            "lifetime_points": account.lifetime_points,
            "qualifying_points": qualifying,
            "next_tier": None
            if upcoming is None
            else {"name": upcoming.name, "points_needed": max(0, upcoming.qualifying_points - qualifying)},
            "next_expiry": next_expiry,
            "rules_version": rules.version,
        }
    )


@dataclass(frozen=True)
class HistoryPage:
    """One page of a contact's ledger history and the cursor of the next."""

    entries: list[dict[str, Any]]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        """The page as the API's JSON body."""
        return {"entries": self.entries, "next_cursor": self.next_cursor}


def _entry_json(entry: LedgerEntry) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": entry.entry_key,
        "kind": entry.kind,
        "points": int(entry.points),
        "balance_after": int(entry.balance_after),
        "recorded_at": clock.iso(entry.recorded_at),
        "rule_version": entry.rule_version,
    }
    for name in ("order_id", "refund_id", "amount", "currency", "reason", "tier_from", "tier_to"):
        value = getattr(entry, name)
        if value is not None:
            body[name] = value
    if entry.lots:
        body["lots"] = [
            {"lot": lot, "points": int(points), "expires_on": on} for lot, points, on in entry.lots
        ]
    return body


def encode_cursor(last_key: dict[str, Any]) -> str:
    """An opaque cursor: where the page stopped, in the ledger's newest-first order."""
    raw = json.dumps(
        {"h": last_key["history_key"]["S"], "e": last_key["entry_key"]["S"]}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, contact_id: str) -> dict[str, Any]:
    """The DynamoDB start key of a cursor; raises ValidationFailed for anything this API did not hand out."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        history_key, entry_key = data["h"], data["e"]
        if not (isinstance(history_key, str) and isinstance(entry_key, str)):
            raise TypeError
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed([FieldError("cursor", "is not a cursor this API handed out")]) from None
    return {
        "contact_id": {"S": contact_id},
        "entry_key": {"S": entry_key},
        "history_key": {"S": history_key},
    }


def history(contact_id: str, *, limit: int = 20, cursor: str | None = None) -> HistoryPage:
    """Ledger entries newest first, `limit` per page (1-100), continued with `next_cursor`.
    Raises ValidationFailed for a bad limit or cursor, NotFound for an unknown contact."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed([FieldError("limit", f"must be between 1 and {MAX_PAGE}")])
    start = decode_cursor(cursor, contact_id) if cursor else None
    if (
        start is None
        and store.load_account(contact_id).version is None
        and store.load_contact(contact_id) is None
    ):
        raise NotFound(f"contact {contact_id} does not exist")
    results = LedgerEntry.history.query(
        contact_id, scan_index_forward=False, limit=limit, last_evaluated_key=start
    )
    entries = [_entry_json(entry) for entry in results]
    last = results.last_evaluated_key
    return HistoryPage(entries, encode_cursor(last) if last and len(entries) == limit else None)
