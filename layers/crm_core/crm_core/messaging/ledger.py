"""The sent-message ledger: a conditional claim before SES is called, the result recorded after.

A retried trigger finds the claim and sends nothing. A claim whose send never completed (crash,
timeout) stays `claimed`; after the grace period any later run may take it over, so it is neither
lost nor doubled. A `failed` claim (SES refused for a transient reason) may be taken at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from crm_core.models.base import condition_failed
from crm_core.models.messages import SentMessage

MAX_ATTEMPTS = 5


def message_key(contact_id: str, kind: str, occurrence: str) -> str:
    return f"{contact_id}#{kind}#{occurrence}"


def claim(
    contact_id: str, kind: str, occurrence: str, *, now: datetime, grace: timedelta
) -> SentMessage | None:
    """Claim the message for sending; None when it is already sent, skipped, or owned by a live claim."""
    item = SentMessage(
        message_key(contact_id, kind, occurrence),
        contact_id=contact_id,
        kind=kind,
        occurrence=occurrence,
        status="claimed",
        claimed_at=now,
        attempts=1,
    )
    try:
        item.save(condition=SentMessage.message_key.does_not_exist())
        return item
    except PutError as exc:
        if not condition_failed(exc):
            raise
    stale = now - grace
    try:
        item.update(
            actions=[
                SentMessage.status.set("claimed"),
                SentMessage.claimed_at.set(now),
                SentMessage.attempts.add(1),
            ],
            condition=(
                (
                    (SentMessage.status == "failed")
                    | ((SentMessage.status == "claimed") & (SentMessage.claimed_at < stale))
                )
                & (SentMessage.attempts < MAX_ATTEMPTS)
            ),
        )
        return item
    except UpdateError as exc:
        if condition_failed(exc):
            return None
        raise


def current(contact_id: str, kind: str, occurrence: str) -> SentMessage | None:
    """The ledger's record of a message (consistent read), or None if it was never claimed."""
    try:
        return SentMessage.get(message_key(contact_id, kind, occurrence), consistent_read=True)
    except DoesNotExist:
        return None


def mark_sent(item: SentMessage, ses_message_id: str, *, now: datetime) -> None:
    """Record SES's message id on the claim."""
    item.update(
        actions=[
            SentMessage.status.set("sent"),
            SentMessage.ses_message_id.set(ses_message_id),
            SentMessage.sent_at.set(now),
            SentMessage.reason.remove(),
        ]
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
    try:
        item.save(condition=SentMessage.message_key.does_not_exist())
        return True
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
