"""The hourly occasions run: greet every contact whose local day is their birthday or anniversary.

Each run reads the month-days in play (see `dates`), then decides per contact in the contact's own
zone (the business default when it has none or an unknown one): the local date must be the
occasion's and the local time at or past the send hour. The ledger key `(contact, kind, local year)`
makes the greeting once a year however many runs see it: a run missed by an outage is caught up by
the next run of the same local day, and the next day's runs no longer see the contact as due.

Greetings are marketing: opted-out or suppressed contacts get none, a contact with an open complaint
case waits (a later run the same day greets them once it is resolved), and quiet hours apply. A
catch-up that finds the contact inside the evening quiet hours cannot be sent before their day ends:
it is recorded `skipped` ("quiet-hours") and counted as `OccasionsMissed`, never sent the next day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time
from functools import cached_property
from typing import Any

from crm_core import clock
from crm_core.campaigns.pacing import Deadline, RateLimiter, send_rate
from crm_core.errors import ConfigurationError, RetryableError
from crm_core.messaging import Outcome, Outgoing, deliver, ledger, quiet_hours
from crm_core.models import Contact
from crm_core.observability import count, get_logger
from crm_core.occasions import rewards, store
from crm_core.occasions.dates import (
    LeapDayPolicy,
    YearlyDate,
    dates_in_play,
    is_due,
    month_days_to_read,
    parse_yearly,
    years_since,
)
from crm_core.occasions.store import Kind, Reads
from crm_core.settings import get_settings

SAFETY_MARGIN_MS = 15_000  # room to finish the greeting in hand and flush metrics before the timeout


@dataclass(frozen=True, slots=True)
class Rules:
    """The run's configuration, validated: the local send hour and the 29 February policy."""

    send_hour: int
    policy: LeapDayPolicy

    @classmethod
    def from_settings(cls) -> Rules:
        """Rules from settings; raises ConfigurationError for an hour out of range, an unknown policy,
        or a send hour after which quiet hours never end before midnight (nothing could ever be sent)."""
        settings = get_settings()
        hour = settings.occasion_send_hour
        if not 0 <= hour <= 23:
            raise ConfigurationError(f"OCCASION_SEND_HOUR must be 0-23, got {hour}")
        _, quiet_end = quiet_hours.window()
        chances = [time(hour)] + ([quiet_end] if quiet_end > time(hour) else [])
        if all(quiet_hours.is_quiet(datetime.combine(datetime(2000, 1, 1), t, UTC), "UTC") for t in chances):
            raise ConfigurationError(
                f"OCCASION_SEND_HOUR {hour} is inside QUIET_HOURS until midnight: no greeting could be sent"
            )
        return cls(send_hour=hour, policy=LeapDayPolicy.parse(settings.leap_day_policy))


@dataclass(frozen=True, slots=True)
class Due:
    """A contact whose occasion it is, in their zone, now."""

    contact: Contact
    kind: Kind
    local: datetime  # the contact's wall clock at the run's instant
    occasion: YearlyDate

    @property
    def occurrence(self) -> str:
        """The occurrence of the occasion: its local year (one greeting per year)."""
        return str(self.local.year)

    @property
    def years(self) -> int:
        """Whole years a customer has been with us (anniversaries); 0 for birthdays (no ages in mail)."""
        return years_since(self.occasion, self.local.date()) if self.kind is Kind.ANNIVERSARY else 0

    @property
    def key(self) -> tuple[str, str, str]:
        """The sent-message ledger's contact, kind and occurrence of this greeting."""
        return (self.contact.contact_id, str(self.kind), self.occurrence)

    @property
    def names(self) -> dict[str, str]:
        """The greeting's identity as log fields."""
        return {"contact_id": self.contact.contact_id, "kind": str(self.kind), "occurrence": self.occurrence}


@dataclass
class RunReport:
    """What one run did, by outcome; returned by the handler and logged."""

    at: str
    month_days: list[str]
    candidates: int = 0  # contacts read from the indexes
    due: int = 0  # of those, whose occasion and send hour it is now
    sent: int = 0
    already: int = 0  # greeted or skipped by an earlier run (or being sent by a concurrent one)
    opted_out: int = 0
    suppressed: int = 0
    paused: int = 0  # an open complaint case: a later run the same day may greet them
    deferred: int = 0  # quiet hours that end before the contact's day does
    missed: int = 0  # quiet hours until the day ends: recorded skipped, never sent the next day
    failed: int = 0  # SES refused for now: the next run the same day retries
    invalid: int = 0  # a date that does not parse: fix the contact
    errors: int = 0
    stopped: str | None = None  # "time": close to the Lambda timeout, the rest left to the next run
    reads: Reads = field(default_factory=Reads)

    def as_dict(self) -> dict[str, Any]:
        """The report as the handler returns and logs it, total reads included."""
        data = asdict(self)
        data["reads"]["total"] = self.reads.total
        return data


class _Run:
    def __init__(self, now: datetime, rules: Rules, limiter: RateLimiter | None) -> None:
        self.now, self.rules, self._limiter = now, rules, limiter
        days = dates_in_play(now, rules.send_hour)
        self.report = RunReport(at=now.isoformat(), month_days=month_days_to_read(days, rules.policy))

    def pace(self) -> None:
        """Wait for a slot under the SES sending rate (read once, and only by a run that sends)."""
        if self._limiter is None:
            self._limiter = RateLimiter(send_rate())
        self._limiter.acquire()

    @cached_property
    def log(self) -> Any:
        return get_logger()

    def due_now(self, kind: Kind, contact: Contact) -> Due | None:
        text = contact.birthday if kind is Kind.BIRTHDAY else contact.customer_since
        try:
            occasion = parse_yearly(text)
        except ValueError:
            self.report.invalid += 1
            count("OccasionsInvalidDate")
            self.log.warning("occasion date does not parse", extra={"contact_id": contact.contact_id})
            return None
        if occasion is None:  # the date was removed after the index was read
            return None
        local = self.now.astimezone(quiet_hours.zone(contact.time_zone))
        if not is_due(local, occasion, self.rules.policy, self.rules.send_hour):
            return None
        item = Due(contact=contact, kind=kind, local=local, occasion=occasion)
        if kind is Kind.ANNIVERSARY and item.years < 1:
            return None  # a customer since this year (or an unknown year) has no anniversary yet
        return item

    def find_due(self) -> list[Due]:
        """The contacts of the month-days in play whose occasion and send hour it is now."""
        report = self.report
        due: list[Due] = []
        for kind in Kind:
            ids = store.contact_ids_on(kind, report.month_days, report.reads)
            for contact in store.load_contacts(ids, report.reads):
                report.candidates += 1
                item = self.due_now(kind, contact)
                if item is not None:
                    due.append(item)
        report.due = len(due)
        return due

    def greet_all(self, due: list[Due], deadline: Deadline) -> None:
        """Greet those not settled by an earlier run, until the deadline; raises ConfigurationError,
        and counts any other failure (one contact's fault must not cost the others their greeting)."""
        report = self.report
        states = store.ledger_states([item.key for item in due], report.reads)
        for item in due:
            if states.get(item.key) in store.SETTLED:
                report.already += 1
                continue
            if deadline.expired():
                report.stopped = "time"
                break
            try:
                self.greet(item)
            except ConfigurationError:
                raise
            except Exception:  # one contact's fault must not cost the others their greeting
                report.errors += 1
                count("OccasionsErrors")
                self.log.exception("greeting failed; the next run retries", extra=item.names)

    def greet(self, item: Due) -> None:
        contact, report = item.contact, self.report
        # Points are a loyalty benefit, not a message: granted even when no greeting may be sent.
        points = 0
        if item.kind is Kind.BIRTHDAY:
            points = rewards.birthday_bonus(contact.contact_id, item.local.year)
        if contact.marketing_opt_out or (contact.consent is not None and contact.consent.granted is False):
            report.opted_out += 1
            if ledger.mark_skipped(*item.key, "opted-out", now=self.now):
                count("OccasionsOptedOut")
            return
        if (contact.open_cases or 0) > 0:
            report.paused += 1
            count("OccasionsPaused")
            return
        delivery = deliver(
            Outgoing(
                contact_id=contact.contact_id,
                to=contact.email,
                kind=str(item.kind),
                occurrence=item.occurrence,
                template=str(item.kind),
                locale=contact.locale,
                context={
                    "name": contact.display_name,
                    "points": points,
                    "years": item.years,
                },
                marketing=True,
                time_zone=contact.time_zone,
            ),
            pace=self.pace,
        )
        self.record(item, delivery.outcome, delivery.retry_at)

    def record(self, item: Due, outcome: Outcome, retry_at: datetime | None) -> None:
        report = self.report
        if outcome is Outcome.SENT:
            report.sent += 1  # counted once, as MessagesSent (crm_core.messaging.delivery)
        elif outcome is Outcome.DUPLICATE:
            report.already += 1
        elif outcome is Outcome.SUPPRESSED:
            report.suppressed += 1
        elif outcome is Outcome.FAILED:
            report.failed += 1
        elif retry_at is not None and retry_at.astimezone(item.local.tzinfo).date() == item.local.date():
            report.deferred += 1
        elif ledger.mark_skipped(*item.key, "quiet-hours", now=self.now):
            report.missed += 1
            count("OccasionsMissed")
            self.log.warning("greeting missed: quiet hours last until the day ends", extra=item.names)
        else:  # an earlier attempt owns the ledger entry (failed or claimed): it was counted then
            report.already += 1


def send_occasions(
    *,
    remaining_ms: Callable[[], int] | None = None,
    limiter: RateLimiter | None = None,
    margin_ms: int = SAFETY_MARGIN_MS,
) -> RunReport:
    """Greet every contact whose occasion it is in their zone, at or past the send hour; once a year each.

    Sends are paced under the SES rate (`limiter`, by default SES_MAX_SEND_RATE capped by the
    account's); with `remaining_ms` (the Lambda context's) the run stops `margin_ms` before the
    timeout and leaves the rest to the next run, the same local day.

    Safe to run at any time and any number of times. Raises ConfigurationError for invalid settings
    or templates, lets DynamoDB errors through (the scheduled invocation is retried), and raises
    RetryableError after the run when a contact could not be handled (the others were).
    """
    run = _Run(clock.now(), Rules.from_settings(), limiter)
    deadline = Deadline(remaining_ms, margin_ms)
    report = run.report
    due = run.find_due()
    # No "due" metric: the run's log line has the count, and a silent schedule shows in the free
    # AWS/Lambda Invocations of the function (a figure every hour was a billed metric all month).
    run.greet_all(due, deadline)
    if report.due or report.invalid:
        run.log.info("occasions run", extra={"report": report.as_dict()})
    else:  # most hours nobody is due: the hourly log then reads like a diary of greetings
        run.log.debug("occasions run: nobody due", extra={"month_days": report.month_days})
    if report.errors:
        raise RetryableError(f"{report.errors} greeting(s) failed; the run is retried")
    return report
