"""The suppression list: addresses that get no marketing (unsubscribed) or no mail at all (bounced)."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from crm_core.models.contacts import contact_id_for, normalize_email
from crm_core.models.messages import Suppression

SCOPE_MARKETING = "marketing"
SCOPE_ALL = "all"


def suppression_for(address: str) -> Suppression | None:
    """The suppression of an address, if any (one key lookup)."""
    try:
        return Suppression.get(normalize_email(address), consistent_read=True)
    except DoesNotExist:
        return None


def blocks(suppression: Suppression | None, *, marketing: bool) -> bool:
    """True when the suppression forbids this kind of mail."""
    if suppression is None:
        return False
    return suppression.scope == SCOPE_ALL or marketing


def suppress(address: str, *, scope: str, reason: str, now: datetime) -> None:
    """Suppress an address; widening to `all` wins over `marketing`, never the other way round."""
    key = normalize_email(address)
    current = suppression_for(key)
    if current is not None and current.scope in {SCOPE_ALL, scope}:
        return
    Suppression(key, scope=scope, reason=reason, at=now, contact_id=contact_id_for(key)).save()
