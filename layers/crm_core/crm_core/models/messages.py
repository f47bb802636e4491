"""The sent-message ledger (one item per message ever claimed) and the suppression list."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from crm_core.models.base import SettingsTableName, register


@register
class SentMessage(Model):
    """A claim on one message `(contact, kind, occurrence)`: the guard against sending twice.

    status: `claimed` (a sender owns it), `sent` (SES accepted it), `failed` (a retryable failure:
    the next run may claim it again), `unknown` (SES may have accepted it: settled by SES's Send event
    or retried after a window), `skipped` (not sent on purpose: suppressed, opted out, unsendable).
    """

    class Meta:
        table_name = SettingsTableName("messages_table")

    message_key = UnicodeAttribute(hash_key=True)  # "{contact_id}#{kind}#{occurrence}"
    contact_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    occurrence = UnicodeAttribute()
    status = UnicodeAttribute()
    claimed_at = UTCDateTimeAttribute()
    attempts = NumberAttribute(default=0)
    sent_at = UTCDateTimeAttribute(null=True)
    ses_message_id = UnicodeAttribute(null=True)
    template = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    confirmed_by = UnicodeAttribute(null=True)  # "Send" / "Delivery": SES's own event recorded it


@register
class Suppression(Model):
    """An address that must not receive mail: of `scope` marketing (unsubscribed) or all (bounced).

    Scope `none` suppresses nothing: the item only counts soft bounces until they reach the limit.
    """

    class Meta:
        table_name = SettingsTableName("suppressions_table")

    email = UnicodeAttribute(hash_key=True)  # normalized address
    scope = UnicodeAttribute()  # "marketing" | "all" | "none" (soft bounces counted, nothing blocked)
    reason = UnicodeAttribute()  # "unsubscribed" | "bounce" | "complaint" | "transient-bounces" ...
    at = UTCDateTimeAttribute()
    contact_id = UnicodeAttribute(null=True)
    transient_bounces = NumberAttribute(null=True)
    feedback_ids = UnicodeSetAttribute(null=True)  # SES feedback ids counted (a redelivery counts once)
    last_bounce_at = UTCDateTimeAttribute(null=True)  # SES's time of the latest soft bounce counted
