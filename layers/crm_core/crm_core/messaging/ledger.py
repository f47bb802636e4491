"""The sent-message ledger: a conditional claim before SES is called, the result recorded after.

A retried trigger finds the claim and sends nothing. A claim whose send never completed (crash,
timeout) stays `claimed`; after the grace period any later run may take it over, so it is neither
lost nor doubled. A `failed` claim (SES refused for a transient reason) may be taken at once.

An `unknown` claim is one SES may have accepted (the call timed out, or the write of its result
failed): it is settled by SES's own record (the configuration set's Send/Delivery event, tagged
with the ledger key, marks it sent) and taken again only after `unknown_window` without one.
SES has no idempotency key, so a Send event that arrives later than the window still means two sends.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from crm_core.aws import THROTTLING_CODES, error_code
from crm_core.models.base import save_if, update_if
from crm_core.models.messages import SentMessage

MAX_ATTEMPTS = 5
DEFAULT_UNKNOWN_WINDOW = timedelta(hours=1)
TAG_NAME = "ledger_key"  # the SES message tag that carries the ledger key to Send/Delivery events
_MAX_TAG_VALUE = 256  # SES: tag values are at most 256 characters of [A-Za-z0-9_-]
WRITE_ATTEMPTS = 4  # of the write that records SES's answer: a throttled write is retried, bounded


def message_key(contact_id: str, kind: str, occurrence: str) -> str:
    """The sent-message ledger key of one message: contact, kind and occurrence."""
    return f"{contact_id}#{kind}#{occurrence}"


def tag_value(key: str) -> str | None:
    """The ledger key as an SES tag value (lower-case base32, no padding: only letters and digits are
    allowed there), or None when it would be longer than SES accepts."""
    value = base64.b32encode(key.encode("utf-8")).decode("ascii").rstrip("=").lower()
    return value if len(value) <= _MAX_TAG_VALUE else None


def key_from_tag(value: str) -> str | None:
    """The ledger key a tag value carries, or None when it is not one of ours."""
    padded = value.upper() + "=" * (-len(value) % 8)
    try:
        return base64.b32decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None


def claim(
    contact_id: str,
    kind: str,
    occurrence: str,
    *,
    now: datetime,
    grace: timedelta,
    unknown_window: timedelta = DEFAULT_UNKNOWN_WINDOW,
) -> SentMessage | None:
    """Claim the message for sending; None when it is already sent, skipped, owned by a live claim, or
    of unknown outcome for less than `unknown_window` (SES may have sent it). Raises DynamoDB errors."""
    item = SentMessage(
        message_key(contact_id, kind, occurrence),
        contact_id=contact_id,
        kind=kind,
        occurrence=occurrence,
        status="claimed",
        claimed_at=now,
        attempts=1,
    )
    if save_if(item, SentMessage.message_key.does_not_exist()):
        return item
    stale, unsettled = now - grace, now - unknown_window
    reclaimable = (
        (SentMessage.status == "failed")
        | ((SentMessage.status == "claimed") & (SentMessage.claimed_at < stale))
        | ((SentMessage.status == "unknown") & (SentMessage.claimed_at < unsettled))
    ) & (SentMessage.attempts < MAX_ATTEMPTS)
    actions = [
        SentMessage.status.set("claimed"),
        SentMessage.claimed_at.set(now),
        SentMessage.attempts.add(1),
    ]
    return item if update_if(item, actions, reclaimable) else None


def current(contact_id: str, kind: str, occurrence: str) -> SentMessage | None:
    """The ledger's record of a message (consistent read), or None if it was never claimed."""
    try:
        return SentMessage.get(message_key(contact_id, kind, occurrence), consistent_read=True)
    except DoesNotExist:
        return None


def _retrying(write: Callable[[], object], *, attempts: int = WRITE_ATTEMPTS, pause: float = 0.1) -> None:
    """Run a ledger write, retrying a throttled one (bounded, exponential pause); raises the last error.

    Why: after SES accepted a message, a write lost to throttling would let the next run send again.
    """
    for attempt in range(1, attempts + 1):
        try:
            write()
            return
        except (PutError, UpdateError) as exc:
            if attempt == attempts or error_code(exc) not in THROTTLING_CODES:
                raise
            time.sleep(pause * 2 ** (attempt - 1))


def mark_sent(item: SentMessage, ses_message_id: str, *, now: datetime) -> None:
    """Record SES's message id on the claim (a throttled write is retried, bounded); raises the
    DynamoDB error when every attempt failed."""
    _retrying(
        lambda: item.update(
            actions=[
                SentMessage.status.set("sent"),
                SentMessage.ses_message_id.set(ses_message_id),
                SentMessage.sent_at.set(now),
                SentMessage.reason.remove(),
            ]
        )
    )


def mark_unknown(item: SentMessage, reason: str) -> None:
    """Record that SES may have accepted the message (its outcome is unknown): only SES's Send event
    or the end of the window settles it. Raises the DynamoDB error when every attempt failed."""
    _retrying(
        lambda: item.update(actions=[SentMessage.status.set("unknown"), SentMessage.reason.set(reason[:500])])
    )


def mark_unsendable(item: SentMessage, reason: str) -> None:
    """End a claim for good: the message cannot be built or sent to this address (no retry helps)."""
    item.update(actions=[SentMessage.status.set("skipped"), SentMessage.reason.set(reason[:500])])


def record_ses_event(key: str, event: str, ses_message_id: str, at: datetime) -> bool:
    """Record SES's own Send/Delivery event on the ledger item it is tagged with: a claim still
    `claimed`, `unknown` or `failed` becomes `sent`. True if the item exists (recorded or already
    sent), False if there is no such item or it was skipped. Raises other DynamoDB errors."""
    return update_if(
        SentMessage(key),
        [
            SentMessage.status.set("sent"),
            SentMessage.ses_message_id.set(SentMessage.ses_message_id | ses_message_id),
            SentMessage.sent_at.set(SentMessage.sent_at | at),
            SentMessage.confirmed_by.set(event),
        ],
        SentMessage.message_key.exists() & (SentMessage.status != "skipped"),
    )


def mark_failed(item: SentMessage, reason: str) -> None:
    """Release the claim after a failed send so a later run retries it (up to MAX_ATTEMPTS)."""
    item.update(actions=[SentMessage.status.set("failed"), SentMessage.reason.set(reason[:500])])


def mark_skipped(contact_id: str, kind: str, occurrence: str, reason: str, *, now: datetime) -> bool:
    """Record that a message is deliberately not sent (suppressed, opted out); False if it already exists."""
    item = SentMessage(
        message_key(contact_id, kind, occurrence),
        contact_id=contact_id,
        kind=kind,
        occurrence=occurrence,
        status="skipped",
        claimed_at=now,
        reason=reason,
    )
    return save_if(item, SentMessage.message_key.does_not_exist())
