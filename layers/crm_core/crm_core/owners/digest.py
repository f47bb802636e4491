"""The owners' morning digest: at `digest.hour` in each owner's time zone, once per local day.

An hourly schedule calls `run`. For each member of staff whose local hour is in [hour, hour + CATCH_UP),
the digest of that local day is built from sparse indexes only: the owner's open tasks due by today
(`open-tasks`), the owner's customers (`by-owner`, then one BatchGetItem per 100 contacts) for
birthdays and anniversaries in the next `birthdays_days` days and the vip-birthday rule, and the open
cases of customers whose contact says they have one (`by-contact` on the cases table).

Once per day: the sent-message ledger claims `(staff#<id>, owner-digest, <local day>)` before SES is
called, so a replayed or overlapping run sends nothing twice. A day with nothing to say is recorded as
skipped (no mail), so a later run that day does not send a digest either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from crm_core import clock
from crm_core.messaging import ledger
from crm_core.models.cases import Case
from crm_core.models.contacts import Contact
from crm_core.models.owners import OwnerAssignment, Task
from crm_core.observability import count, get_logger
from crm_core.owners.directory import Staff, load
from crm_core.owners.service import rule_task

KIND = "owner-digest"
TEMPLATE = "owner-digest"
CATCH_UP = 3  # hours after the digest hour a late or failed run still sends that day's digest
OPEN_CASE_STATUSES = ("open", "waiting")


def recipient_id(staff: Staff) -> str:
    """The ledger's 'contact' of a member of staff (no contact id starts with 'staff#')."""
    return f"staff#{staff.id}"


@dataclass
class Digest:
    """One owner's morning digest: tasks due, occasions coming and open cases."""

    owner: Staff
    day: date
    tasks: list[dict[str, Any]] = field(default_factory=list)
    occasions: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    rule_tasks: int = 0

    @property
    def empty(self) -> bool:
        """True when there is nothing to tell: no digest is sent."""
        return not (self.tasks or self.occasions or self.cases)

    def context(self) -> dict[str, Any]:
        """The digest template's variables."""
        return {
            "owner": self.owner.name.split()[0],
            "day": self.day.isoformat(),
            "tasks": self.tasks,
            "occasions": self.occasions,
            "cases": self.cases,
        }


def _name(contact: Contact) -> str:
    return " ".join(p for p in (contact.first_name, contact.last_name) if p) or contact.email


def _on(year: int, month_day: str) -> date:
    """The day of an occasion in a year; 29 February falls on the 28th in other years."""
    month, day = int(month_day[:2]), int(month_day[3:5])
    try:
        return date(year, month, day)
    except ValueError:
        return date(year, 2, 28)


def _next(text: str | None, today: date) -> date | None:
    """The next day on or after today of a yearly date ("YYYY-MM-DD" or "--MM-DD")."""
    if not text or len(text) < 7:
        return None
    month_day = text[-5:]
    try:
        this_year = _on(today.year, month_day)
        return this_year if this_year >= today else _on(today.year + 1, month_day)
    except ValueError:
        return None


def build(staff: Staff, today: date) -> Digest:
    """What the owner should know this morning (creates the vip-birthday rule tasks first)."""
    directory = load()
    digest = Digest(staff, today)
    ids = [a.contact_id for a in OwnerAssignment.by_owner.query(staff.id)]
    contacts = {c.contact_id: c for c in Contact.batch_get(ids)} if ids else {}
    horizon = today + timedelta(days=directory.birthdays_days)
    tomorrow = today + timedelta(days=1)
    for contact in contacts.values():
        birthday = _next(contact.birthday, today)
        if (
            contact.vip
            and birthday == tomorrow
            and rule_task("vip-birthday", contact.contact_id, str(tomorrow.year), owner=staff)
        ):
            digest.rule_tasks += 1
        digest.occasions += _occasions(contact, birthday, today, horizon)
        digest.cases += _open_cases(contact)
    digest.tasks += _due_tasks(staff, today, contacts)
    digest.occasions.sort(key=lambda o: (o["day"], o["contact"]))
    return digest


def _occasions(contact: Contact, birthday: date | None, today: date, horizon: date) -> list[dict[str, Any]]:
    """The contact's birthday and customer anniversary falling before `horizon`."""
    occasions: list[dict[str, Any]] = []
    if birthday is not None and birthday < horizon:
        occasions.append(
            {"kind": "birthday", "day": birthday.isoformat(), "contact": _name(contact), "years": None}
        )
    since = _next(contact.customer_since, today)
    if since is not None and since < horizon and contact.customer_since:
        years = since.year - int(contact.customer_since[:4])
        if years > 0:
            occasions.append(
                {"kind": "anniversary", "day": since.isoformat(), "contact": _name(contact), "years": years}
            )
    return occasions


def _open_cases(contact: Contact) -> list[dict[str, Any]]:
    """The contact's open cases (queried only when the contact counts some)."""
    if (contact.open_cases or 0) <= 0:
        return []
    return [
        {
            "case_id": case.case_id,
            "contact": _name(contact),
            "subject": case.subject,
            "status": case.status,
            "priority": case.priority,
        }
        for case in Case.by_contact.query(contact.contact_id)
        if case.status in OPEN_CASE_STATUSES
    ]


def _due_tasks(staff: Staff, today: date, contacts: dict[str, Contact]) -> list[dict[str, Any]]:
    """The owner's open tasks due today or earlier."""
    tasks = []
    for task in Task.open_tasks.query(staff.id, Task.due <= today.isoformat()):
        customer = contacts.get(task.contact_id)
        tasks.append(
            {
                "task_id": task.task_id,
                "contact": _name(customer) if customer else task.contact_id,
                "note": task.note,
                "due": task.due,
                "overdue": task.due < today.isoformat(),
            }
        )
    return tasks


def send(staff: Staff, today: date) -> str:
    """Build and send one owner's digest of a local day, at most once; returns what happened."""
    from crm_core.messaging.delivery import Outgoing, deliver  # noqa: PLC0415 - the message engine only when a digest is sent

    recipient = recipient_id(staff)
    if ledger.current(recipient, KIND, today.isoformat()) is not None:
        return "duplicate"
    digest = build(staff, today)
    log = get_logger()
    if digest.empty:
        ledger.mark_skipped(recipient, KIND, today.isoformat(), "nothing to say", now=clock.now())
        count("OwnerDigestsEmpty")
        log.info("owner digest skipped: nothing to say", extra={"owner": staff.id, "day": today.isoformat()})
        return "empty"
    delivery = deliver(
        Outgoing(
            contact_id=recipient,
            to=staff.email,
            kind=KIND,
            occurrence=today.isoformat(),
            template=TEMPLATE,
            locale=staff.language,
            context=digest.context(),
            marketing=False,
            time_zone=staff.time_zone,
        )
    )
    count("OwnerDigestsSent" if delivery.outcome.value == "sent" else "OwnerDigestsNotSent")
    log.info(
        "owner digest",
        extra={
            "owner": staff.id,
            "day": today.isoformat(),
            "outcome": delivery.outcome.value,
            "tasks": len(digest.tasks),
            "occasions": len(digest.occasions),
            "cases": len(digest.cases),
        },
    )
    return delivery.outcome.value


def run(now: datetime | None = None) -> dict[str, str]:
    """The hourly run: each owner whose local morning it is gets the day's digest. Safe to repeat."""
    instant = now or clock.now()
    hour = load().digest_hour
    outcomes: dict[str, str] = {}
    for staff in load().staff.values():
        local = instant.astimezone(ZoneInfo(staff.time_zone))
        if hour <= local.hour < hour + CATCH_UP:
            outcomes[staff.id] = send(staff, local.date())
    return outcomes
