"""The suppression list: addresses that get no marketing (unsubscribed) or no mail at all (bounced).

An item with scope `none` suppresses nothing: it only counts the soft (transient) bounces of an
address until they reach the limit, or a delivery clears them.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from crm_core.models.base import condition_failed, update_if
from crm_core.models.contacts import contact_id_for, normalize_email
from crm_core.models.messages import Suppression

SCOPE_NONE = "none"
SCOPE_MARKETING = "marketing"
SCOPE_ALL = "all"


ERASED_PREFIX = "erased#"
ERASED_PURPOSE = "erased-address"


def erased_keys(address: str) -> list[str]:
    """The keys an erased address's suppression may be kept under: a keyed hash (HMAC with the signing
    key, current then previous), so the item says nothing about whom it stops mailing."""
    from crm_core.messaging import tokens  # noqa: PLC0415 - the signing key, only when a lookup misses

    return [
        ERASED_PREFIX + digest for digest in tokens.keyed_hashes(normalize_email(address), ERASED_PURPOSE)
    ]


def suppression_for(address: str) -> Suppression | None:
    """The suppression of an address, if any: its own item, else the keyed-hash item its erasure left
    (one key lookup, two or three when the address has no item of its own)."""
    found = _get(normalize_email(address))
    if found is not None:
        return found
    for key in erased_keys(address):
        if (found := _get(key)) is not None:
            return found
    return None


def erased(address: str) -> bool:
    """True when the address belongs to an erased person (its suppression is kept as a keyed hash)."""
    return any(_get(key) is not None for key in erased_keys(address))


def _get(key: str) -> Suppression | None:
    try:
        return Suppression.get(key, consistent_read=True)
    except DoesNotExist:
        return None


def blocks(suppression: Suppression | None, *, marketing: bool) -> bool:
    """True when the suppression forbids this kind of mail."""
    if suppression is None:
        return False
    return suppression.scope == SCOPE_ALL or (marketing and suppression.scope == SCOPE_MARKETING)


def suppress(address: str, *, scope: str, reason: str, now: datetime) -> bool:
    """Suppress an address; True if this call widened it. `all` wins over `marketing`, never the reverse.

    One conditional write, so a replay or a concurrent unsubscribe and bounce cannot narrow it.
    """
    if scope not in {SCOPE_MARKETING, SCOPE_ALL}:
        raise ValueError(f"unknown suppression scope {scope!r}")
    if erased(address):
        return False  # already suppressed for all mail, and writing the address would re-identify it
    key = normalize_email(address)
    weaker = [SCOPE_NONE, SCOPE_MARKETING] if scope == SCOPE_ALL else [SCOPE_NONE]
    return update_if(
        Suppression(key),
        [
            Suppression.scope.set(scope),
            Suppression.reason.set(reason),
            Suppression.at.set(now),
            Suppression.contact_id.set(contact_id_for(key)),
        ],
        Suppression.email.does_not_exist() | Suppression.scope.is_in(*weaker),
    )


def lift_marketing(address: str, *, now: datetime) -> bool:
    """Lift an unsubscribe because the person has explicitly consented again; True if one was lifted.

    Only a `marketing` suppression is lifted (to `none`, which keeps any soft-bounce count): a
    bounce or a complaint (`all`) is never undone by a form post.
    """
    return update_if(
        Suppression(normalize_email(address)),
        [
            Suppression.scope.set(SCOPE_NONE),
            Suppression.reason.set("consented-again"),
            Suppression.at.set(now),
        ],
        Suppression.scope == SCOPE_MARKETING,
    )


def count_transient_bounce(
    address: str, feedback_id: str, *, now: datetime, bounced_at: datetime | None = None
) -> int:
    """Count one soft bounce (once per SES feedback id, so a redelivered notification is not counted
    twice); returns the address's count so far. `bounced_at` (SES's own time of the bounce) is kept
    when it is the latest, so an older Delivery replayed later cannot forgive it. Raises DynamoDB errors."""
    if erased(address):
        return 0  # suppressed for all mail already; counting would write the address again
    key = normalize_email(address)
    item = Suppression(key)
    counted = update_if(
        item,
        [
            Suppression.transient_bounces.add(1),
            Suppression.feedback_ids.add({feedback_id}),
            Suppression.scope.set(Suppression.scope | SCOPE_NONE),
            Suppression.reason.set(Suppression.reason | "transient-bounce"),
            Suppression.at.set(Suppression.at | now),
            Suppression.contact_id.set(contact_id_for(key)),
        ],
        ~Suppression.feedback_ids.contains(feedback_id),
    )
    if not counted:
        current = _get(key)
        return int(current.transient_bounces or 0) if current else 0
    _latest_bounce(key, bounced_at or now)
    return int(item.transient_bounces or 0)


def _latest_bounce(key: str, at: datetime) -> None:
    """Keep the latest SES bounce time on the item (a second conditional write: DynamoDB has no max)."""
    update_if(
        Suppression(key),
        [Suppression.last_bounce_at.set(at)],
        Suppression.email.exists()
        & (Suppression.last_bounce_at.does_not_exist() | (Suppression.last_bounce_at < at)),
    )


def clear_transient_bounces(address: str, *, delivered_at: datetime | None = None) -> bool:
    """Forget the soft bounces of an address that has since received mail; True if there were any.

    With `delivered_at` (SES's time of the delivery) only bounces older than it are forgiven: a
    replayed old Delivery notification leaves a later bounce count as it is; without it (an operator's
    reset) the count is forgotten whatever its age. Raises DynamoDB errors.
    """
    current = _get(normalize_email(address))  # the address's own item, never an erased one's
    if current is None or not current.transient_bounces:
        return False
    condition = Suppression.scope == current.scope
    if delivered_at is not None:
        condition &= Suppression.last_bounce_at.does_not_exist() | (Suppression.last_bounce_at < delivered_at)
    try:
        if current.scope == SCOPE_NONE:
            current.delete(condition=condition)
        else:
            current.update(
                actions=[
                    Suppression.transient_bounces.remove(),
                    Suppression.feedback_ids.remove(),
                    Suppression.last_bounce_at.remove(),
                ],
                condition=condition,
            )
    except (UpdateError, DeleteError) as exc:
        if not condition_failed(exc):
            raise
        return False
    return True
