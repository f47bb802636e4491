"""0001-0009: contact ids become keyed hashes of the address; every item stored under a plain-hash id moves.

Releases before this one made a contact id from a plain SHA-256 of the normalized address, which anyone
with a list of addresses can reverse. Now an id is an HMAC under the deployment's identity key
(crm_core.contacts.identity). This migration re-keys what a previous release stored, table by table:

- the map old id -> new id comes from the addresses the stack holds: every contact's `email` and every
  suppression's key (read once per run, before the first page);
- in every item, every string that is a mapped old id, or holds one (`{contact_id}#kind#occurrence`,
  `contact#<id>`, `ackrate#<id>`, `survey#<id>#...`), gets the new id; the index shards derived from the
  id (occasion days, lifecycle review, enrollment due shard, loyalty expiry and review days) follow it;
- an item whose key changes is put under its new key and deleted under the old one in one transaction
  (conditional both ways: a resumed or repeated run changes nothing); others are rewritten in place;
- each moved contact leaves an alias (crm_core.contacts.aliases) so that links already mailed, which
  carry the old id, still unsubscribe, confirm consent and answer surveys.

The old derivation lives here and nowhere else. Ids that map to no address the stack holds (an erased
person's leftovers carry pseudonyms, not ids) are left as they are.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from crm_core import aws, clock
from crm_core.contacts import aliases
from crm_core.contacts.identity import contact_id_for, identity_key, normalize_email
from crm_core.migrations.runner import Migration, Rekey
from crm_core.settings import get_settings

_ID = re.compile(r"ct_[a-z2-7]{26}")
_mapping: dict[str, str] = {}


def plain_contact_id(address: str) -> str:
    """The id releases before 0001 gave an address: `ct_` + base32 of its plain SHA-256 (reversible)."""
    digest = hashlib.sha256(normalize_email(address).encode("utf-8")).digest()
    return "ct_" + base64.b32encode(digest).decode("ascii").lower().rstrip("=")[:26]


def _addresses() -> list[str]:
    """Every address the stack holds: contacts' `email`, and the suppression list's keys."""
    settings, found = get_settings(), []
    for table, attribute in ((settings.contacts_table, "email"), (settings.suppressions_table, "email")):
        request: dict[str, Any] = {"TableName": table, "ProjectionExpression": "#a"}
        request["ExpressionAttributeNames"] = {"#a": attribute}
        while True:
            page = aws.dynamodb().scan(**request)
            found += [i[attribute]["S"] for i in page.get("Items", []) if "S" in i.get(attribute, {})]
            if not page.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return found


def prepare() -> None:
    """Read the map old id -> new id (once per process: addresses stored later get keyed ids already)."""
    if not _mapping:
        key = identity_key()
        for address in _addresses():
            _mapping[plain_contact_id(address)] = contact_id_for(address, key=key)


def forget() -> None:
    """Drop the map (tests: each stack has its own addresses)."""
    _mapping.clear()


def _swap(value: Any) -> Any:
    """`value` with every mapped old id in it replaced by its new id (strings, lists, sets, maps)."""
    if isinstance(value, str):
        return _ID.sub(lambda m: _mapping.get(m.group(0), m.group(0)), value)
    if isinstance(value, Mapping):
        return {_swap(k): _swap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v) for v in value]
    if isinstance(value, set | frozenset):
        return {_swap(v) for v in value}
    return value


def _reshard(item: dict[str, Any], attribute: str, shard: Callable[[str, str], str]) -> None:
    """Recompute an index shard derived from the contact id: `shard(prefix before '#', new id)`."""
    if isinstance(item.get(attribute), str) and isinstance(item.get("contact_id"), str):
        item[attribute] = shard(item[attribute].rpartition("#")[0], item["contact_id"])


def _occasion(prefix: str, contact_id: str) -> str:
    from crm_core.models.contacts import occasion_day  # noqa: PLC0415 - models only when the migration runs

    return occasion_day("--" + prefix, contact_id) or prefix


def _review(prefix: str, contact_id: str) -> str:
    from crm_core.lifecycle.service import review_key  # noqa: PLC0415 - models only when the migration runs

    return review_key(date.fromisoformat(prefix), contact_id)


def _day(prefix: str, contact_id: str) -> str:
    from crm_core.models.loyalty import day_key  # noqa: PLC0415 - models only when the migration runs

    return day_key(prefix, contact_id)


def _due(item: dict[str, Any]) -> None:
    from crm_core.models.enrollments import due_shard  # noqa: PLC0415 - models only when the migration runs

    if item.get("due_shard") is not None:
        item["due_shard"] = due_shard(item["contact_id"])


Fix = Callable[[dict[str, Any]], None]


def _rekeyer(fix: Fix | None = None, *, alias: bool = False) -> Callable[[Mapping[str, Any]], Rekey | None]:
    """The rekey of one table: swap ids, then `fix` the derived shards; a moved contact leaves an alias."""

    def rekey(item: Mapping[str, Any]) -> Rekey | None:
        if str(item.get("message_key", "")).startswith(("migration#", aliases.ALIAS_PREFIX)):
            return None  # the runner's progress and the aliases themselves
        moved = _swap(dict(item))
        if moved == item:
            return None
        if fix is not None:
            fix(moved)
        also: tuple[tuple[str, Mapping[str, Any]], ...] = ()
        if alias and moved.get("contact_id") != item.get("contact_id"):
            entry = aliases.alias_item(str(item["contact_id"]), str(moved["contact_id"]), clock.now())
            also = (("MESSAGES_TABLE", entry),)
        return Rekey(moved, also)

    return rekey


def _contact_shards(item: dict[str, Any]) -> None:
    _reshard(item, "birthday_day", _occasion)
    _reshard(item, "anniversary_day", _occasion)
    _reshard(item, "lifecycle_review", _review)


def _loyalty_shards(item: dict[str, Any]) -> None:
    if str(item.get("contact_id", "")).startswith("ct_"):  # not the shop's event#/value# claims
        _reshard(item, "review_key", _day)
        _reshard(item, "expiry_key", _day)


_TABLES: tuple[tuple[str, str, Callable[[Mapping[str, Any]], Rekey | None]], ...] = (
    # Contacts first: a form post for a known address finds its contact under the new id soonest.
    ("contacts", "CONTACTS_TABLE", _rekeyer(_contact_shards, alias=True)),
    ("suppressions", "SUPPRESSIONS_TABLE", _rekeyer()),
    ("enrollments", "ENROLLMENTS_TABLE", _rekeyer(_due)),
    ("messages", "MESSAGES_TABLE", _rekeyer()),
    ("cases", "CASES_TABLE", _rekeyer()),
    ("loyalty", "LOYALTY_TABLE", _rekeyer(_loyalty_shards)),
    ("surveys", "SURVEYS_TABLE", _rekeyer()),
    ("owners", "OWNERS_TABLE", _rekeyer()),
    ("privacy_requests", "PRIVACY_REQUESTS_TABLE", _rekeyer()),
)

MIGRATIONS: tuple[Migration, ...] = tuple(
    Migration(
        number=number,
        name=f"keyed_contact_ids_{name}",
        table=table,
        rekey=rekey,
        prepare=prepare,
        description=f"contact ids in the {name} table become keyed hashes (see {__name__})",
    )
    for number, (name, table, rekey) in enumerate(_TABLES, start=1)
)
