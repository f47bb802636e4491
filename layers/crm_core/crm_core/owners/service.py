"""Owners, tasks and notes of a contact: every write is safe to repeat.

- An owner is set by an agent (overwrites), by a routing rule or round-robin (only when the contact has
  none: a conditional put, so a replayed purchase never moves a customer to someone else).
- A task's id is derived from its Idempotency-Key (API) or its rule and source (`rule:first-purchase:
  A-1001`), and written with `attribute_not_exists`: a replay finds it and gets the same task; the same
  key with other content is a KeyReused (409).
- A note is keyed the same way by its Idempotency-Key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import DoesNotExist

from crm_core import clock
from crm_core.errors import FieldError, KeyReused, NotFound, ValidationFailed
from crm_core.models.base import save_if, update_if
from crm_core.models.contacts import Contact
from crm_core.models.owners import COUNTER_SK, OWNER_SK, Note, OwnerAssignment, RoundRobin, Task, contact_pk
from crm_core.observability import count, get_logger
from crm_core.owners.directory import Directory, Route, Staff, load

MAX_NOTE = 4000
MAX_TASK_NOTE = 1000
MAX_KEY = 200
MAX_ID_BYTES = 512  # contact and task ids are ~30 characters: a longer one exists nowhere


def _now_text() -> str:
    return clock.iso(clock.now(), milliseconds=True)  # owners' items keep milliseconds


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def local_today(staff: Staff | None, now: datetime | None = None) -> date:
    """Today in the owner's time zone (UTC without an owner)."""
    instant = now or clock.now()
    return instant.astimezone(ZoneInfo(staff.time_zone)).date() if staff else instant.date()


def _require_contact(contact_id: str) -> Contact:
    if not contact_id or len(contact_id.encode("utf-8")) > MAX_ID_BYTES:
        raise NotFound("no such contact")
    try:
        return Contact.get(contact_id)
    except DoesNotExist:
        raise NotFound(f"no contact {contact_id}") from None


def _staff(owner: object, field: str = "owner") -> Staff:
    found = load().staff.get(str(owner)) if isinstance(owner, str) else None
    if found is None:
        known = ", ".join(sorted(load().staff))
        raise ValidationFailed([FieldError(field, f"must be the id of a member of staff ({known})")])
    return found


def _key(key: str | None) -> str:
    if not key or not key.strip() or len(key) > MAX_KEY:
        raise ValidationFailed(
            [FieldError("Idempotency-Key", f"header is required (1 to {MAX_KEY} characters)")]
        )
    return key.strip()


# ---- owners ------------------------------------------------------------------------------------
def assignment(contact_id: str) -> OwnerAssignment | None:
    """The contact's owner assignment (consistent read), None when nobody owns it."""
    try:
        return OwnerAssignment.get(contact_pk(contact_id), OWNER_SK, consistent_read=True)
    except DoesNotExist:
        return None


def owner_of(contact_id: str) -> Staff | None:
    """The contact's owner, or None (also when the owner has left the staff file)."""
    found = assignment(contact_id)
    return load().staff.get(found.owner_key) if found else None


def owner_view(item: OwnerAssignment | None) -> dict[str, Any] | None:
    """The owner as the API shows it (the staff member, who set it and when), None when unowned."""
    if item is None:
        return None
    staff = load().staff.get(item.owner_key)
    base = staff.public() if staff else {"id": item.owner_key}
    return {**base, "set_by": item.set_by, "at": item.at}


def set_owner(contact_id: str, owner: object, *, by: object = None) -> dict[str, Any]:
    """An agent sets (or changes) the contact's owner. Raises ValidationFailed (unknown owner), NotFound."""
    staff = _staff(owner)
    _require_contact(contact_id)
    agent = str(by)[:100] if isinstance(by, str) and by.strip() else "api"
    current = assignment(contact_id)
    if current is not None and current.owner_key == staff.id:
        return owner_view(current) or {}  # a replay: keeps who set it and when
    item = OwnerAssignment(
        contact_pk(contact_id),
        contact_id=contact_id,
        owner_key=staff.id,
        set_by=f"agent:{agent}",
        at=_now_text(),
    )
    item.save()
    count("OwnersSet")
    get_logger().info("owner set by an agent", extra={"contact_id": contact_id, "owner": staff.id})
    return owner_view(item) or {}


def _claim_owner(contact_id: str, staff: Staff, set_by: str) -> bool:
    item = OwnerAssignment(
        contact_pk(contact_id), contact_id=contact_id, owner_key=staff.id, set_by=set_by, at=_now_text()
    )
    if not save_if(item, OwnerAssignment.pk.does_not_exist()):
        return False
    count("OwnersAssigned")
    get_logger().info("owner assigned", extra={"contact_id": contact_id, "owner": staff.id, "by": set_by})
    return True


def country_of(contact: Contact | None) -> str | None:
    """The contact's country: its `country` custom field, else its phone number's country (E.164)."""
    if contact is None:
        return None
    custom = dict(contact.custom or {})
    if custom.get("country"):
        return str(custom["country"]).upper()
    if contact.phone:
        import phonenumbers  # noqa: PLC0415 - only for contacts with a phone and no country

        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(contact.phone))
        except phonenumbers.NumberParseException:
            return None
        return region if region and region != "ZZ" else None
    return None


def route_new_customer(contact_id: str, *, amount: Decimal, first_purchase: bool) -> Staff | None:
    """Give a contact without an owner one: the first routing rule that matches (domain, country), else
    round-robin in the team when this first order reaches the threshold. Returns the owner given, or
    None (already owned, nothing applies). Safe to repeat."""
    directory = load()
    if assignment(contact_id) is not None:
        return None
    try:
        contact: Contact | None = Contact.get(contact_id)
    except DoesNotExist:
        contact = None
    route = _matching_route(directory.routing, contact)
    if route is not None:
        staff = directory.staff[route.owner]
        return staff if _claim_owner(contact_id, staff, f"rule:{route.name}") else None
    return _round_robin(directory, contact_id, amount=amount, first_purchase=first_purchase)


def _matching_route(routing: tuple[Route, ...], contact: Contact | None) -> Route | None:
    """The first routing rule matching the contact's address domain or country (looked up only when
    a rule asks for it)."""
    domain = contact.email.rpartition("@")[2].lower() if contact else ""
    country = None
    for route in routing:
        if route.country and country is None:
            country = country_of(contact) or ""
        if (route.domain and route.domain == domain) or (route.country and route.country == country):
            return route
    return None


def _round_robin(
    directory: Directory, contact_id: str, *, amount: Decimal, first_purchase: bool
) -> Staff | None:
    """The next member of the round-robin team, for a first order reaching the threshold."""
    team = directory.round_robin_team
    minimum = directory.round_robin_min
    if not first_purchase or team is None or minimum is None or amount < minimum:
        return None
    members = sorted(directory.team(team), key=lambda s: s.id)
    counter = RoundRobin(f"rr#{team}", COUNTER_SK)
    counter.update(actions=[RoundRobin.turns.add(1)])
    staff = members[(int(counter.turns) - 1) % len(members)]
    return staff if _claim_owner(contact_id, staff, f"round-robin:{team}") else None


# ---- tasks -------------------------------------------------------------------------------------
def _day(value: object, field: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed([FieldError(field, "must be a day as YYYY-MM-DD")]) from None


def task_view(task: Task) -> dict[str, Any]:
    """A task as the API shows it."""
    return {
        "task_id": task.task_id,
        "contact_id": task.contact_id,
        "owner": task.owner,
        "due": task.due,
        "note": task.note,
        "status": task.status,
        "created_by": task.created_by,
        "created_at": task.created_at,
        "completed_at": task.completed_at,
        "snoozes": int(task.snoozes or 0),
    }


@dataclass(frozen=True, slots=True)
class Created:
    """A created task, and whether an earlier request had created it already."""

    task: dict[str, Any]
    replay: bool


def _put_task(task: Task) -> Created:
    if not save_if(task, Task.pk.does_not_exist()):
        existing = Task.get(task.pk, task.sk, consistent_read=True)
        if existing.fingerprint != task.fingerprint:
            raise KeyReused("this Idempotency-Key was used for another task") from None
        return Created(task_view(existing), replay=True)
    count("TasksCreated")
    get_logger().info(
        "task created", extra={"contact_id": task.contact_id, "task_id": task.task_id, "by": task.created_by}
    )
    return Created(task_view(task), replay=False)


def create_task(contact_id: str, body: dict[str, Any], key: str | None) -> Created:
    """POST /contacts/{id}/tasks: `due` (YYYY-MM-DD), `note`, `owner` (default: the contact's owner).
    Raises ValidationFailed naming the field, NotFound, KeyReused."""
    errors: list[FieldError] = []
    try:
        idem = _key(key)
    except ValidationFailed as exc:
        errors += exc.errors
        idem = ""
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > MAX_TASK_NOTE:
        errors.append(FieldError("note", f"must be text of at most {MAX_TASK_NOTE} characters"))
    due: date | None = None
    try:
        due = _day(body.get("due"), "due")
    except ValidationFailed as exc:
        errors += exc.errors
    staff: Staff | None = None
    if body.get("owner") is not None:
        try:
            staff = _staff(body.get("owner"))
        except ValidationFailed as exc:
            errors += exc.errors
    if errors:
        raise ValidationFailed(errors)
    _require_contact(contact_id)
    if staff is None:
        staff = owner_of(contact_id)
        if staff is None:
            raise ValidationFailed([FieldError("owner", "is required: the contact has no owner")])
    assert due is not None  # noqa: S101 - narrows the type; a missing due date raised above
    fingerprint = _hash(due.isoformat(), str(note), staff.id)
    task_id = "tk_" + _hash(contact_id, "api", idem)[:20]
    return _put_task(_new_task(contact_id, task_id, staff, due, str(note), "api", fingerprint))


def _new_task(  # noqa: PLR0917 - every part of a new task, named at each call
    contact_id: str, task_id: str, staff: Staff, due: date, note: str, by: str, fingerprint: str
) -> Task:
    return Task(
        contact_pk(contact_id),
        f"task#{task_id}",
        task_id=task_id,
        contact_id=contact_id,
        owner=staff.id,
        due=due.isoformat(),
        note=note,
        status="open",
        created_by=by,
        created_at=_now_text(),
        fingerprint=fingerprint,
        open_owner=staff.id,
    )


def _task(contact_id: str, task_id: str) -> Task:
    if len(contact_id.encode("utf-8")) + len(task_id.encode("utf-8")) > MAX_ID_BYTES:
        raise NotFound("no such task")
    try:
        return Task.get(contact_pk(contact_id), f"task#{task_id}", consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"no task {task_id} on contact {contact_id}") from None


def list_tasks(contact_id: str, status: str | None = None) -> dict[str, Any]:
    """A contact's tasks, soonest due first; `status` open, done or None (all)."""
    if status not in (None, "open", "done"):
        raise ValidationFailed([FieldError("status", "must be open or done")])
    tasks = [
        task_view(t)
        for t in Task.query(contact_pk(contact_id), Task.sk.startswith("task#"))
        if status is None or t.status == status
    ]
    return {"tasks": sorted(tasks, key=lambda t: (t["due"], t["task_id"]))}


def complete_task(contact_id: str, task_id: str) -> dict[str, Any]:
    """Mark a task done (it leaves the owner's open tasks). A second call answers the same."""
    task = _task(contact_id, task_id)
    if task.status == "done":
        return task_view(task)
    actions = [Task.status.set("done"), Task.completed_at.set(_now_text()), Task.open_owner.remove()]
    if not update_if(task, actions, Task.status == "open"):
        task = _task(contact_id, task_id)
    count("TasksCompleted")
    return task_view(task)


def snooze_task(contact_id: str, task_id: str, until: object) -> dict[str, Any]:
    """Move an open task's due day to `until` (after today). The same snooze again changes nothing.
    Raises ValidationFailed (`until`), NotFound, Conflict... (a done task cannot be snoozed: 409)."""
    from crm_core.errors import Conflict  # noqa: PLC0415 - only a done task's snooze needs it

    day = _day(until, "until")
    task = _task(contact_id, task_id)
    if task.due == day.isoformat():
        return task_view(task)
    if task.status != "open":
        raise Conflict("a completed task cannot be snoozed")
    if day <= local_today(load().staff.get(task.owner)):
        raise ValidationFailed([FieldError("until", "must be a day after today")])
    actions = [Task.snoozed_from.set(task.due), Task.due.set(day.isoformat()), Task.snoozes.add(1)]
    if not update_if(task, actions, (Task.status == "open") & (Task.due == task.due)):
        task = _task(contact_id, task_id)  # changed meanwhile: answer with what is there
    count("TasksSnoozed")
    return task_view(task)


# ---- notes -------------------------------------------------------------------------------------
def add_note(contact_id: str, body: dict[str, Any], key: str | None) -> Created:
    """POST /contacts/{id}/notes: `text`, `author`, Idempotency-Key. Raises ValidationFailed, NotFound,
    KeyReused. Returns the note (as a task-like Created: replay says whether it existed)."""
    errors: list[FieldError] = []
    text, author = body.get("text"), body.get("author")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_NOTE:
        errors.append(FieldError("text", f"is required, at most {MAX_NOTE} characters"))
    if not isinstance(author, str) or not author.strip() or len(author) > 100:
        errors.append(FieldError("author", "is required, at most 100 characters"))
    try:
        idem = _key(key)
    except ValidationFailed as exc:
        errors += exc.errors
        idem = ""
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(text, str) and isinstance(author, str)  # noqa: S101 - narrows the type; the checks above raised otherwise
    _require_contact(contact_id)
    fingerprint = _hash(text, author)
    note_id = "nt_" + _hash(contact_id, idem)[:20]
    # The sort key holds the time, so a replay cannot be caught by a condition: look for the id first.
    found = Note.query(
        contact_pk(contact_id), Note.sk.startswith("note#"), filter_condition=Note.note_id == note_id
    )
    existing = next(iter(found), None)
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise KeyReused("this Idempotency-Key was used for another note")
        return Created(note_view(existing), replay=True)
    at = _now_text()
    note = Note(
        contact_pk(contact_id),
        f"note#{at}#{note_id}",
        note_id=note_id,
        contact_id=contact_id,
        text=text.strip(),
        author=author.strip(),
        at=at,
        fingerprint=fingerprint,
    )
    note.save(condition=Note.pk.does_not_exist())
    count("NotesAdded")
    get_logger().info("note added", extra={"contact_id": contact_id, "note_id": note_id})
    return Created(note_view(note), replay=False)


def note_view(note: Note) -> dict[str, Any]:
    """A note as the API shows it."""
    return {"note_id": note.note_id, "text": note.text, "author": note.author, "at": note.at}


# ---- tasks that rules create -------------------------------------------------------------------
def rule_task(
    kind: str, contact_id: str, source: str, *, owner: Staff | None = None
) -> dict[str, Any] | None:
    """Create the task of rule `kind` about `source` (an order id, a case id, a year ...) for the
    contact's owner, once however often it is called. None when the rule is off or nobody owns the
    contact."""
    rule = load().rules.get(kind)
    if rule is None:
        return None
    staff = owner or owner_of(contact_id)
    if staff is None:
        count("RuleTasksWithoutOwner")
        return None
    due = local_today(staff) + timedelta(days=rule.due_in_days)
    task_id = "tk_" + _hash(contact_id, "rule", kind, source)[:20]
    fingerprint = _hash("rule", kind, source)
    return _put_task(_new_task(contact_id, task_id, staff, due, rule.note, f"rule:{kind}", fingerprint)).task


def first_purchase_matters(amount: Decimal) -> bool:
    """Whether an order this large would get round-robin or a first-purchase task if it were the first."""
    directory = load()
    rule = directory.rules.get("first-purchase")
    thresholds = [
        *(
            [directory.round_robin_min]
            if directory.round_robin_team and directory.round_robin_min is not None
            else []
        ),
        *([rule.min_order_value or Decimal(0)] if rule is not None else []),
    ]
    return any(amount >= threshold for threshold in thresholds)


def on_purchase(contact_id: str, order_id: str, amount: Decimal, *, first_purchase: bool) -> None:
    """The purchase path: give a new customer an owner (routing rules, round-robin), then the
    first-purchase call task when the order reaches the rule's threshold. Safe to repeat."""
    route_new_customer(contact_id, amount=amount, first_purchase=first_purchase)
    rule = load().rules.get("first-purchase")
    if first_purchase and rule is not None and amount >= (rule.min_order_value or Decimal(0)):
        rule_task("first-purchase", contact_id, order_id)


def on_complaint(contact_id: str, case_id: str, *, vip: bool) -> None:
    """A case was opened: a most-valuable customer's complaint becomes a call task for the owner."""
    if vip:
        rule_task("vip-complaint", contact_id, case_id)


def on_survey_score(contact_id: str, answer_id: str, score: Decimal) -> None:
    """Hook for surveys: a score at or below the rule's `max_score` becomes a call task."""
    rule = load().rules.get("low-survey-score")
    if rule is not None and rule.max_score is not None and score <= rule.max_score:
        rule_task("low-survey-score", contact_id, answer_id)


def on_dissolution(contact_id: str, since: str) -> None:
    """Hook for lifecycle: a customer entering the dissolution stage (`since`: the transition's day)."""
    rule_task("dissolution", contact_id, since)
