"""Record a lead: create the contact and its welcome enrollment in one call, or merge into it.

What each case costs, in DynamoDB calls (no reads in any of them):
- new contact: ONE TransactWriteItems: the contact (condition: it does not exist) and the welcome
  enrollment. A transaction cannot return old values, but it does not need to: it succeeding
  means the contact is new (201).
- existing contact: that transaction is cancelled by the contact's condition, and the cancellation
  reason carries the stored item (ReturnValuesOnConditionCheckFailure=ALL_OLD): no read. Then ONE
  conditional UpdateItem merges (200). A merge does not enroll: the contact had its first touch.
- replay (a submission id the contact remembers): the cancelled transaction only; nothing is
  written and the first answer is repeated.
Throttling that outlives the SDK's retries becomes RetryableError (answered 503 + Retry-After).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from crm_core import aws, clock
from crm_core.campaigns.enrollment import new_enrollment
from crm_core.errors import RetryableError
from crm_core.leads.merge import Outcome, earlier_outcome, merge_update, new_contact
from crm_core.messaging import suppressions
from crm_core.models.base import condition_failed
from crm_core.models.contacts import Contact
from crm_core.models.enrollments import Enrollment
from crm_core.observability import get_logger

if TYPE_CHECKING:
    from crm_core.leads.validation import Lead

WELCOME_CAMPAIGN = "welcome"
ATTEMPTS = 4  # a post racing another post of the same contact re-reads it through its own failure
_RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


@dataclass(frozen=True, slots=True)
class Captured:
    contact_id: str
    outcome: Outcome
    replayed: bool = False
    custom_left_out: list[str] = field(default_factory=list)

    @property
    def created(self) -> bool:
        return self.outcome is Outcome.CREATED


def capture(lead: Lead, *, submission_id: str, at: datetime | None = None, welcome: bool = True) -> Captured:
    """Create or merge the contact of `lead`; safe to call again with the same submission.

    Raises RetryableError when DynamoDB throttles or conflicts past the retries (nothing is lost:
    the caller retries), and lets other DynamoDB errors through.
    """
    at = at or clock.now()
    try:
        for attempt in range(ATTEMPTS):
            captured = _attempt(lead, submission_id=submission_id, at=at, welcome=welcome)
            if captured is not None:
                return captured
            time.sleep(random.uniform(0.01, 0.05) * 2**attempt)  # jitter only
    except PynamoDBException as exc:
        if aws.is_transient(exc):
            raise RetryableError(f"DynamoDB is busy ({aws.error_code(exc)})") from exc
        raise
    except Exception as exc:
        if _is_connection_error(exc):
            raise RetryableError(f"DynamoDB is unreachable ({type(exc).__name__})") from exc
        raise
    raise RetryableError("the contact is being updated by other posts; try again")


def _attempt(lead: Lead, *, submission_id: str, at: datetime, welcome: bool) -> Captured | None:
    """One try; None when a concurrent writer got in the way and the caller should try again."""
    contact = new_contact(lead, submission_id=submission_id, at=at)
    try:
        # A transaction even for the contact alone: its cancellation returns the stored item.
        with TransactWrite(connection=Contact._get_connection().connection) as tx:
            tx.save(contact, condition=Contact.contact_id.does_not_exist(), return_values="ALL_OLD")
            if welcome:
                context = {"form_id": lead.form_id} if lead.form_id else {}
                enrollment = new_enrollment(lead.contact_id, WELCOME_CAMPAIGN, at=at, context=context)
                tx.save(enrollment, condition=Enrollment.contact_id.does_not_exist())
        return Captured(lead.contact_id, Outcome.CREATED)
    except TransactWriteError as exc:
        if exc.cause_response_code != "TransactionCanceledException":
            raise
        on_contact, on_enrollment = [*exc.cancellation_reasons, None, None][:2]
        if on_contact is not None and on_contact.code == "ConditionalCheckFailed" and on_contact.raw_item:
            return _merge(
                Contact.from_raw_data(on_contact.raw_item), lead, submission_id=submission_id, at=at
            )
        if (
            welcome
            and on_contact is None
            and on_enrollment is not None
            and on_enrollment.code == "ConditionalCheckFailed"
        ):
            # Enrolled already but the contact is gone (erased, say): create it without enrolling again.
            return _attempt(lead, submission_id=submission_id, at=at, welcome=False)
        if any(r is not None and r.code in _RETRYABLE_REASONS for r in exc.cancellation_reasons):
            return None
        raise


def _merge(old: Contact, lead: Lead, *, submission_id: str, at: datetime) -> Captured | None:
    earlier = earlier_outcome(old, submission_id)
    if earlier is not None:
        get_logger().info("replayed post answered as before", extra={"contact_id": old.contact_id})
        return Captured(old.contact_id, earlier, replayed=True)
    actions, condition, left_out = merge_update(old, lead, submission_id=submission_id, at=at)
    if lead.consent and old.marketing_opt_out:
        # Lifted before the merge: if the merge then fails, the retried post lifts again (a no-op).
        suppressions.lift_marketing(old.email, now=at)
    try:
        old.update(actions=actions, condition=condition, add_version_condition=False)
    except UpdateError as exc:
        if condition_failed(exc):
            return None  # another post (or an erasure) changed it since: try again from the top
        raise
    return Captured(old.contact_id, Outcome.MERGED, custom_left_out=left_out)


def _is_connection_error(exc: BaseException) -> bool:
    from botocore.exceptions import ConnectionError as BotoConnectionError  # noqa: PLC0415
    from botocore.exceptions import HTTPClientError  # noqa: PLC0415

    return isinstance(exc, BotoConnectionError | HTTPClientError) or isinstance(
        getattr(exc, "cause", None), BotoConnectionError | HTTPClientError
    )
