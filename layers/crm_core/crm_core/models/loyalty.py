"""The loyalty table: one partition per contact, holding four kinds of item.

| entry_key               | item              | lifetime                                             |
|-------------------------|-------------------|------------------------------------------------------|
| `balance`               | LoyaltyBalance    | rewritten by every movement (optimistic `version`)   |
| `purchase#A-1001`, ...  | LedgerEntry       | append-only; its key is its source document          |
| `order#A-1001`          | OrderRecord       | what a purchase earned and how much was refunded     |
| `lot#purchase#A-1001`   | LotMarker         | puts a lot in the expiry index until it expires      |

Entry keys: `purchase#<order_id>`, `refund#<refund_id>`, `redeem#<idempotency-key>`,
`expiry#<lot>`, `adjust#<event_id>`, `birthday#<year>`, `goodwill#<case-id>`, `bonus#<source>`.
History reads entries newest first through the local index `history`, whose sort key is the
balance version each entry wrote (strictly increasing per contact, whatever the clocks say); only
entries carry `history_key`, so balance, orders and markers stay out of it.
"""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection, LocalSecondaryIndex
from pynamodb.models import Model

from crm_core.models.base import SettingsTableName, register
from crm_core.sharding import shard_of

BALANCE_KEY = "balance"
DAY_SHARDS = 4  # spreads a busy day (the Black Friday lots expiring together) over a few index partitions


def day_key(day_iso: str, contact_id: str) -> str:
    """Index key of a contact's item due on a day: "YYYY-MM-DD#shard"."""
    return f"{day_iso}#{shard_of(contact_id, DAY_SHARDS)}"


class NoticeMap(MapAttribute[str, object]):
    """A tier-change message still to send: new tier, previous tier, day, and up or down."""

    tier = UnicodeAttribute()
    previous = UnicodeAttribute()
    on = UnicodeAttribute()
    upgrade = NumberAttribute()  # 1 up, 0 down


def notice_map(tier: str, previous: str, on: str, upgrade: bool) -> NoticeMap:
    """The stored form of a tier-change notice."""
    return NoticeMap(tier=tier, previous=previous, on=on, upgrade=int(upgrade))


class ReviewIndex(GlobalSecondaryIndex["LoyaltyBalance"]):
    """Sparse: balances whose tier may drop or whose tier-change message is unsent, by day."""

    class Meta:
        index_name = "tier-reviews"
        projection = KeysOnlyProjection()

    review_key = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute(range_key=True)


@register
class LoyaltyBalance(Model):
    """The running state of a contact's points: balance, lots (oldest first), tier."""

    class Meta:
        table_name = SettingsTableName("loyalty_table")

    contact_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True, default=BALANCE_KEY)
    balance = NumberAttribute(default=0)  # sum of the ledger; negative = points owed after a refund
    lifetime_points = NumberAttribute(default=0)
    # Compact JSON, read and written whole with the balance and never queried by parts: a lot costs
    # ~50 bytes instead of ~110 as a list of maps, so reads stay small (moto also serializes them 10x faster).
    lots = JSONAttribute(default=list)  # [[lot id, points left, earned on, expires on], ...] oldest first
    earned = JSONAttribute(default=dict)  # {"YYYY-MM": qualifying points}, the last 12 months
    tier = UnicodeAttribute(null=True)
    tier_since = UnicodeAttribute(null=True)
    purchases = NumberAttribute(default=0)
    notice = NoticeMap(null=True)
    review_key = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()

    review_index = ReviewIndex()


class HistoryIndex(LocalSecondaryIndex["LedgerEntry"]):
    """A contact's ledger entries in history order."""

    class Meta:
        index_name = "history"
        projection = AllProjection()

    contact_id = UnicodeAttribute(hash_key=True)
    history_key = UnicodeAttribute(range_key=True)


@register
class LedgerEntry(Model):
    """One movement of points, never changed once written."""

    class Meta:
        table_name = SettingsTableName("loyalty_table")

    contact_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)  # its source: "purchase#A-1001"
    kind = UnicodeAttribute()  # purchase | refund | redeem | expiry | adjust | birthday | goodwill | bonus
    points = NumberAttribute()  # signed
    balance_after = NumberAttribute()
    rule_version = UnicodeAttribute()
    recorded_at = UTCDateTimeAttribute()
    history_key = UnicodeAttribute()  # zero-padded balance version it wrote: the ledger's own order
    lots = JSONAttribute(null=True)  # [[lot id, points moved (signed), expires on], ...]
    bonus_points = NumberAttribute(null=True)  # the first-purchase bonus inside a purchase
    qualifying_points = NumberAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    refund_id = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute(null=True)
    amount = UnicodeAttribute(null=True)  # decimal string, as received
    currency = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    occurred_at = UnicodeAttribute(null=True)
    tier_from = UnicodeAttribute(null=True)
    tier_to = UnicodeAttribute(null=True)

    history = HistoryIndex()


@register
class OrderRecord(Model):
    """What a purchase earned, and how much of it refunds have taken back so far."""

    class Meta:
        table_name = SettingsTableName("loyalty_table")

    contact_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)  # "order#A-1001"
    order_id = UnicodeAttribute()
    amount = UnicodeAttribute()
    currency = UnicodeAttribute()
    points = NumberAttribute()
    qualifying_points = NumberAttribute()
    month = UnicodeAttribute()  # YYYY-MM the qualifying points were counted in
    rule_version = UnicodeAttribute()
    lot_id = UnicodeAttribute()
    refunded_amount = UnicodeAttribute(default="0")
    refunded_points = NumberAttribute(default=0)
    refunded_qualifying = NumberAttribute(default=0)
    version = VersionAttribute()


class ExpiryIndex(GlobalSecondaryIndex["LotMarker"]):
    """Lots by the day they expire, so the daily run finds them without a scan."""

    class Meta:
        index_name = "lots-by-expiry"
        projection = KeysOnlyProjection()

    expiry_key = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute(range_key=True)


@register
class LotMarker(Model):
    """Puts a lot in the expiry index; the lot's points live on the balance item."""

    class Meta:
        table_name = SettingsTableName("loyalty_table")

    contact_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)  # "lot#<lot id>"
    expiry_key = UnicodeAttribute()  # day_key(expires_on)
    expires_on = UnicodeAttribute()

    expiry_index = ExpiryIndex()

    @property
    def lot_id(self) -> str:
        """The lot's id, from its sort key."""
        return self.entry_key.removeprefix("lot#")


@register
class EventClaim(Model):
    """An order event id seen before (partition `event#<event_id>`, key `event`), with a digest of its
    content: the same id with other content is a conflict (crm_core.loyalty.event_ids)."""

    class Meta:
        table_name = SettingsTableName("loyalty_table")

    contact_id = UnicodeAttribute(hash_key=True)  # "event#<event_id>"
    entry_key = UnicodeAttribute(range_key=True)  # "event"
    digest = UnicodeAttribute()
    event_type = UnicodeAttribute(attr_name="type")  # purchase | refund | adjustment
    first_seen = UnicodeAttribute()  # ISO instant, as `datetime.isoformat` writes it
