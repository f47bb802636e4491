"""The scheduled follow-up run: find due steps through the sharded due index, send, move on.

Each enrollment is handled on its own: look at the step, decide (send, wait, pause, exit), call
`deliver` (which claims the message once and for all), and move the enrollment with a write
conditional on the step it read. So a replayed or overlapping run sends nothing twice, and a run
cut short (timeout, crash) leaves the rest, untouched, for the next one.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from crm_core import clock
from crm_core.campaigns import definitions, transitions
from crm_core.campaigns.definitions import Campaign, Catalog, Step
from crm_core.campaigns.pacing import Deadline, RateLimiter, send_rate
from crm_core.errors import CrmError
from crm_core.messaging import Outcome, Outgoing, deliver, suppressions
from crm_core.messaging.delivery import Delivery
from crm_core.models import Contact, Enrollment
from crm_core.models.contacts import greeting_name
from crm_core.models.enrollments import DUE_SHARDS
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings

SAFETY_MARGIN_MS = 10_000  # room to finish the message in hand and flush metrics before the timeout
MAX_CONSECUTIVE_FAILURES = 5  # SES refusing this many sends in a row: stop and leave the rest
PAGE_SIZE = 50


class FollowupRunFailed(CrmError):
    """Some enrollments raised (logged one by one); the others were handled. The next run retries them."""


@dataclass
class RunReport:
    """What one follow-up run did: outcomes by kind, why it stopped early, and how many failed."""

    outcomes: Counter[str] = field(default_factory=Counter)
    stopped: str | None = None  # "time" | "ses-failing" | None (ran out of due steps)
    errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The report as the handler returns and logs it."""
        return {"outcomes": dict(self.outcomes), "stopped": self.stopped, "errors": self.errors}


def due_enrollments(now: datetime) -> Iterator[Enrollment]:
    """Every active enrollment due at `now`, oldest first within a shard, shards taken in turn
    (so a run cut short has served every shard). One Query per shard page; never a Scan."""
    bound = clock.iso(now)
    pending = [
        iter(Enrollment.due_index.query(str(shard), Enrollment.due_at <= bound, page_size=PAGE_SIZE))
        for shard in range(DUE_SHARDS)
    ]
    while pending:
        for results in list(pending):
            item = next(results, None)
            if item is None:
                pending.remove(results)
            else:
                yield item


def _contact(contact_id: str) -> Contact | None:
    try:
        return Contact.get(contact_id)
    except DoesNotExist:
        return None


def _consented(contact: Contact) -> bool:
    return bool(contact.consent is not None and contact.consent.granted)


def _next_due(enrollment: Enrollment, campaign: Campaign, index: int, now: datetime) -> datetime | None:
    """When step `index` is due: its offset from enrollment, but never sooner than min_gap from now."""
    if index >= len(campaign.steps):
        return None
    return max(enrollment.enrolled_at + campaign.steps[index].after, now + campaign.min_gap)


def _move_on(enrollment: Enrollment, campaign: Campaign, now: datetime) -> bool:
    return transitions.advance(
        enrollment, now=now, next_due=_next_due(enrollment, campaign, int(enrollment.step) + 1, now)
    )


def _stop_marketing(enrollment: Enrollment, campaign: Campaign, reason: str, now: datetime) -> str:
    """The contact takes no marketing: skip to a later service step if there is one, else exit."""
    if any(not s.marketing for s in campaign.steps[int(enrollment.step) + 1 :]):
        _move_on(enrollment, campaign, now)
        return "skipped"
    transitions.finish(enrollment, now=now, reason=reason)
    return "exited"


def _message(
    enrollment: Enrollment,
    campaign: Campaign,
    step: Step,
    contact: Contact,
    catalog: Catalog,
    *,
    extra: dict[str, Any] | None = None,
) -> Outgoing:
    context: dict[str, Any] = json.loads(enrollment.context or "{}")
    context.update(first_name=greeting_name(contact.first_name), brand=dict(catalog.brand), **(extra or {}))
    return Outgoing(
        contact_id=enrollment.contact_id,
        to=contact.email,
        kind=campaign.kind(step),
        occurrence=enrollment.enrollment_key,
        template=step.template,
        locale=contact.locale,
        context=context,
        marketing=step.marketing,
        reply_to=get_settings().support_address if step.reply_to == "support" else None,
        time_zone=contact.time_zone,
        respect_quiet_hours=step.survey is not None,  # a service message, but one nobody waits for
    )


def _end_without_step(enrollment: Enrollment, campaign: Campaign | None, now: datetime) -> str:
    if campaign is None:  # removed from campaigns.yaml
        transitions.finish(enrollment, now=now, reason="unknown-campaign")
        return "exited"
    transitions.finish(enrollment, now=now, reason=None, status=transitions.COMPLETED)  # steps were removed
    return "completed"


def _marketing_hold(
    enrollment: Enrollment, campaign: Campaign, contact: Contact, catalog: Catalog, now: datetime
) -> str | None:
    """Why a marketing step must not go to this contact now (and the move made), or None."""
    if contact.marketing_opt_out:
        return _stop_marketing(enrollment, campaign, "unsubscribed", now)
    if campaign.consent_required and not _consented(contact):
        return _stop_marketing(enrollment, campaign, "no-consent", now)
    if (contact.open_cases or 0) > 0:  # an open complaint: no marketing until it is resolved
        transitions.reschedule(enrollment, now + catalog.recheck_paused_after)
        return "paused"
    return None


def _after_delivery(
    delivery: Delivery, enrollment: Enrollment, campaign: Campaign, contact: Contact, now: datetime
) -> str:
    if delivery.outcome is Outcome.SENT:
        _move_on(enrollment, campaign, now)
        return "sent"
    if delivery.outcome is Outcome.DUPLICATE and delivery.reason != "in-progress":
        _move_on(enrollment, campaign, now)  # sent, skipped or given up by an earlier run
        return f"duplicate-{delivery.reason}"
    if delivery.outcome is Outcome.DUPLICATE or delivery.outcome is Outcome.DEFERRED:
        # A claim still in flight (retry once it goes stale) or quiet hours (retry when they end).
        transitions.reschedule(enrollment, delivery.retry_at or now + campaign.min_gap)
        return "in-progress" if delivery.outcome is Outcome.DUPLICATE else "deferred"
    if delivery.outcome is Outcome.SUPPRESSED:
        suppression = suppressions.suppression_for(contact.email)
        if suppression is not None and suppression.scope == suppressions.SCOPE_ALL:
            transitions.finish(enrollment, now=now, reason=suppression.reason)
            return "exited"
        return _stop_marketing(enrollment, campaign, "unsubscribed", now)
    return "failed"  # SES refused: the claim is released and the enrollment stays due for the next run


def handle(enrollment: Enrollment, catalog: Catalog, *, pace: Callable[[], None] | None = None) -> str:
    """Handle one due enrollment; returns what happened ("sent", "deferred", "exited", ...)."""
    now = clock.now()
    campaign = catalog.get(enrollment.campaign)
    index = int(enrollment.step)
    if campaign is None or index >= len(campaign.steps):
        return _end_without_step(enrollment, campaign, now)
    step = campaign.steps[index]
    due = enrollment.enrolled_at + step.after
    if enrollment.last_step_at is not None:
        due = max(due, enrollment.last_step_at + campaign.min_gap)
    if due > now:  # enrolled "now" but the step has a delay, or min_gap since the last one
        transitions.reschedule(enrollment, due)
        return "waiting"
    contact = _contact(enrollment.contact_id)
    if contact is None:
        transitions.finish(enrollment, now=now, reason="no-contact")
        return "exited"
    if step.marketing and (held := _marketing_hold(enrollment, campaign, contact, catalog, now)):
        return held
    if step.survey is not None:
        return _ask_survey(enrollment, campaign, step, contact, catalog, now, pace)
    delivery = deliver(_message(enrollment, campaign, step, contact, catalog), pace=pace)
    return _after_delivery(delivery, enrollment, campaign, contact, now)


def _ask_survey(  # noqa: PLR0917 - handle()'s own state, passed on
    enrollment: Enrollment,
    campaign: Campaign,
    step: Step,
    contact: Contact,
    catalog: Catalog,
    now: datetime,
    pace: Callable[[], None] | None,
) -> str:
    """A survey step: skipped when the contact may not be asked now, else sent and counted once."""
    from crm_core.surveys import invitations  # noqa: PLC0415 - only survey steps pay for it

    context: dict[str, Any] = json.loads(enrollment.context or "{}")
    occasion = enrollment.enrollment_key.partition("#")[2] or enrollment.enrollment_key
    invite = invitations.prepare(
        contact, str(step.survey), occasion, now=now, team=context.get("team"), case_id=context.get("case_id")
    )
    if isinstance(invite, str):  # asked too recently, unsubscribed or suppressed: not asked at all
        get_logger().info(
            "survey skipped",
            extra={"contact_id": contact.contact_id, "survey": step.survey, "reason": invite},
        )
        _move_on(enrollment, campaign, now)
        return f"survey-{invite}"
    message = _message(enrollment, campaign, step, contact, catalog, extra=invite.context)
    delivery = deliver(message, pace=pace)
    if delivery.outcome is Outcome.SENT or (
        delivery.outcome is Outcome.DUPLICATE and delivery.reason == "sent"
    ):
        invitations.mark_sent(invite.invitation, now)  # counted once, even after a crash and a retry
    return _after_delivery(delivery, enrollment, campaign, contact, now)


def run(
    *,
    remaining_ms: Callable[[], int] | None = None,
    limiter: RateLimiter | None = None,
    catalog: Catalog | None = None,
    margin_ms: int = SAFETY_MARGIN_MS,
) -> RunReport:
    """Handle every due enrollment, paced, until none is left or time runs short.

    Raises ConfigurationError (nothing sent) if campaigns.yaml is broken, and FollowupRunFailed
    after the run if some enrollments raised (the rest were handled; they are retried next run).
    """
    catalog = catalog or definitions.load()
    limiter = limiter or RateLimiter(send_rate())
    deadline, log, report = Deadline(remaining_ms, margin_ms), get_logger(), RunReport()
    failures_in_a_row = 0
    for enrollment in due_enrollments(clock.now()):
        if deadline.expired():
            report.stopped = "time"
            break
        if failures_in_a_row >= MAX_CONSECUTIVE_FAILURES:
            report.stopped = "ses-failing"
            break
        names = {"contact_id": enrollment.contact_id, "enrollment": enrollment.enrollment_key}
        try:
            outcome = handle(enrollment, catalog, pace=limiter.acquire)
        except Exception:  # one broken enrollment must not hold back the others
            log.exception("follow-up step raised; left due for the next run", extra=names)
            report.errors += 1
            continue
        failures_in_a_row = failures_in_a_row + 1 if outcome == "failed" else 0
        report.outcomes[outcome] += 1
    for outcome, n in report.outcomes.items():
        if outcome != "sent":  # a sent step is counted once, as MessagesSent (crm_core.messaging.delivery)
            count("Followups" + outcome.title().replace("-", ""), n)  # FollowupsDeferred, FollowupsFailed ...
    log.info("follow-up run finished", extra=report.as_dict())
    if report.errors:
        raise FollowupRunFailed(f"{report.errors} enrollment(s) raised; see the log")
    return report
