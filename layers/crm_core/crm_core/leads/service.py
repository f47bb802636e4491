"""Record a lead: create the contact and its welcome enrollment in one call, or merge into it.

What each case costs, in DynamoDB calls (no reads in any of them):
- new contact: ONE TransactWriteItems: the contact (condition: it does not exist) and the welcome
  enrollment. A transaction cannot return old values, but it does not need to: it succeeding
  means the contact is new (201).
- existing contact: that transaction is cancelled by the contact's condition, and the cancellation
  reason carries the stored item (ReturnValuesOnConditionCheckFailure=ALL_OLD): no read. Then ONE
  conditional UpdateItem merges (200). A merge does not enroll: the contact had its first touch.
- replay (a submission id the contact remembers): the cancelled transaction only; nothing is
  written and the first answer is repeated. A replay is the same Idempotency-Key with the same
  content (the same key with other content is IdempotencyConflict, 409), or, without a key, the
  same content as the contact's latest post (a double submit): an older post sent again after a
  different one is applied again, not dropped.
- a consent that needs the owner's confirmation (crm_core.leads.merge) costs one suppression read
  before the write, and the confirmation mail after it (crm_core.contacts.consent).
Throttling that outlives the SDK's retries becomes RetryableError (answered 503 + Retry-After).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from pynamodb.exceptions import CancellationReason, PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from crm_core import aws, clock
from crm_core.campaigns.enrollment import new_enrollment
from crm_core.errors import Conflict, RetryableError
from crm_core.leads.merge import (
    ConsentPlan,
    Outcome,
    Source,
    earlier_post,
    merge_update,
    new_contact,
    plan_consent,
)
from crm_core.messaging import suppressions
from crm_core.models.base import update_if
from crm_core.models.contacts import Contact
from crm_core.models.enrollments import Enrollment
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings

if TYPE_CHECKING:
    from crm_core.leads.validation import Lead

WELCOME_CAMPAIGN = "welcome"
ATTEMPTS = 4  # a post racing another post of the same contact re-reads it through its own failure
_RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


class IdempotencyConflict(Conflict):
    """The Idempotency-Key was used before for a lead with other content (answered 409)."""


@dataclass(frozen=True, slots=True)
class Captured:
    """What capturing a lead did: contact, created or merged, replayed, fields left out or kept."""

    contact_id: str
    outcome: Outcome
    replayed: bool = False
    custom_left_out: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # fields a more trusted source set, left as they were
    confirmation: str | None = None  # the outcome of the consent-confirmation mail, when one was asked

    @property
    def created(self) -> bool:
        """True when the post created the contact."""
        return self.outcome is Outcome.CREATED


def capture(
    lead: Lead,
    *,
    submission_id: str,
    at: datetime | None = None,
    welcome: bool = True,
    source: Source = Source.FORM,
) -> Captured:
    """Create or merge the contact of `lead` as `source` says it; safe to call again with the same
    submission. Mails a consent-confirmation link when the consent needs the owner's confirmation.

    Raises IdempotencyConflict when a keyed submission id comes back with other content,
    RetryableError when DynamoDB throttles or conflicts past the retries (nothing is lost: the
    caller retries), and lets other DynamoDB errors through.
    """
    at = at or clock.now()
    step = _Step(lead, submission_id, at, source, lead.fingerprint(), _suppressed_for_marketing(lead))
    try:
        for attempt in range(ATTEMPTS):
            captured = _attempt(step, welcome=welcome)
            if captured is not None:
                return _confirm_if_asked(step, captured)
            time.sleep(random.uniform(0.01, 0.05) * 2**attempt)  # noqa: S311 - jitter only, not secrecy
    except PynamoDBException as exc:
        if aws.is_transient(exc):
            raise RetryableError(f"DynamoDB is busy ({aws.error_code(exc)})") from exc
        raise
    except Exception as exc:
        if _is_connection_error(exc):
            raise RetryableError(f"DynamoDB is unreachable ({type(exc).__name__})") from exc
        raise
    raise RetryableError("the contact is being updated by other posts; try again")


@dataclass(frozen=True, slots=True)
class _Step:
    lead: Lead
    submission_id: str
    at: datetime
    source: Source
    digest: str
    marketing_suppressed: bool

    def plan(self, old: Contact | None) -> ConsentPlan:
        return plan_consent(
            old,
            self.lead,
            source=self.source,
            at=self.at,
            double_opt_in=get_settings().double_opt_in,
            marketing_suppressed=self.marketing_suppressed,
        )


def _suppressed_for_marketing(lead: Lead) -> bool:
    """True when the address has a suppression that stops marketing (read only for a consent)."""
    if not lead.consent:
        return False
    return suppressions.blocks(suppressions.suppression_for(lead.email), marketing=True)


def _confirm_if_asked(step: _Step, captured: Captured) -> Captured:
    if captured.replayed or captured.confirmation is None:
        return captured
    from crm_core.contacts.consent import request_confirmation  # noqa: PLC0415 - only when asked

    lead = step.lead
    outcome = request_confirmation(
        captured.contact_id, lead.email, captured.confirmation, locale=lead.locale, time_zone=lead.time_zone
    )
    count("LeadsConsentPending")
    return Captured(
        captured.contact_id,
        captured.outcome,
        custom_left_out=captured.custom_left_out,
        kept=captured.kept,
        confirmation=outcome,
    )


def _attempt(step: _Step, *, welcome: bool) -> Captured | None:
    """One try; None when a concurrent writer got in the way and the caller should try again.
    `confirmation` of the answer holds the pending consent's time when a confirmation must be mailed."""
    lead = step.lead
    plan = step.plan(None)
    contact = new_contact(
        lead, submission_id=step.submission_id, at=step.at, source=step.source, plan=plan, digest=step.digest
    )
    try:
        # A transaction even for the contact alone: its cancellation returns the stored item.
        with TransactWrite(connection=Contact._get_connection().connection) as tx:
            tx.save(contact, condition=Contact.contact_id.does_not_exist(), return_values="ALL_OLD")
            if welcome:
                context = {"form_id": lead.form_id} if lead.form_id else {}
                enrollment = new_enrollment(lead.contact_id, WELCOME_CAMPAIGN, at=step.at, context=context)
                tx.save(enrollment, condition=Enrollment.contact_id.does_not_exist())
        return Captured(
            lead.contact_id, Outcome.CREATED, confirmation=plan.pending.at if plan.pending else None
        )
    except TransactWriteError as exc:
        if exc.cause_response_code != "TransactionCanceledException":
            raise
        return _after_cancellation(exc, step, welcome=welcome)


def _after_cancellation(exc: TransactWriteError, step: _Step, *, welcome: bool) -> Captured | None:
    """What a cancelled create means: the contact exists (merge into it), the welcome enrollment
    exists without its contact (create the contact alone), or a race or throttle (None: try again).
    Raises `exc` for any other reason."""
    on_contact, on_enrollment = [*exc.cancellation_reasons, None, None][:2]
    if _condition_failed(on_contact) and on_contact is not None and on_contact.raw_item:
        return _merge(Contact.from_raw_data(on_contact.raw_item), step)
    if welcome and on_contact is None and _condition_failed(on_enrollment):
        # Enrolled already but the contact is gone (erased, say): create it without enrolling again.
        return _attempt(step, welcome=False)
    if any(r is not None and r.code in _RETRYABLE_REASONS for r in exc.cancellation_reasons):
        return None
    raise exc


def _condition_failed(reason: CancellationReason | None) -> bool:
    return reason is not None and reason.code == "ConditionalCheckFailed"


def _replay(old: Contact, step: _Step) -> Outcome | None:
    """The first answer when this post is a replay; raises IdempotencyConflict for a reused key."""
    earlier = earlier_post(old, step.submission_id)
    if earlier is None:
        return None
    outcome, digest = earlier
    if step.submission_id.startswith("k"):
        if digest and digest != step.digest:
            raise IdempotencyConflict("this Idempotency-Key was already used for a different lead")
        return outcome
    # Without a key, only a repeat of the latest post is a double submit; an older one is news again.
    latest = (old.recent_posts or [""])[-1].partition(" ")[0]
    return outcome if latest == step.submission_id else None


def _merge(old: Contact, step: _Step) -> Captured | None:
    earlier = _replay(old, step)
    if earlier is not None:
        get_logger().info("replayed post answered as before", extra={"contact_id": old.contact_id})
        return Captured(old.contact_id, earlier, replayed=True)
    plan = step.plan(old)
    merge = merge_update(
        old,
        step.lead,
        submission_id=step.submission_id,
        at=step.at,
        source=step.source,
        plan=plan,
        digest=step.digest,
    )
    if not update_if(old, merge.actions, merge.condition, add_version_condition=False):
        return None  # another post (or an erasure) changed it since: try again from the top
    return Captured(
        old.contact_id,
        Outcome.MERGED,
        custom_left_out=merge.custom_left_out,
        kept=merge.kept,
        confirmation=plan.pending.at if plan.pending else None,
    )


def _is_connection_error(exc: BaseException) -> bool:
    from botocore.exceptions import ConnectionError as BotoConnectionError  # noqa: PLC0415 - botocore only when a write failed
    from botocore.exceptions import HTTPClientError  # noqa: PLC0415 - botocore only when a write failed

    return isinstance(exc, BotoConnectionError | HTTPClientError) or isinstance(
        getattr(exc, "cause", None), BotoConnectionError | HTTPClientError
    )
