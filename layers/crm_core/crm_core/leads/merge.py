"""The merge rules, as DynamoDB writes: a new contact's item, or the one conditional update of a merge.

- A non-empty value replaces the stored one; an empty one never does.
- First touch and created_at are set once (if_not_exists); last touch and updated_at every post.
- Consent is recorded with its time, form and source page whenever a post says yes or no; a
  marketing opt-out is undone only by a post that explicitly consents.
- `posts` counts the posts; the update is conditioned on the count it read, so two posts racing
  cannot both apply their view of `custom` and `recent_posts` (the loser retries).
- `recent_posts` keeps the last RECENT_POSTS submission ids with the answer they got: a replay is
  answered the same way and writes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from crm_core.leads.fields import MAX_CUSTOM_PER_CONTACT
from crm_core.models.contacts import Consent, Contact, Touch, occasion_day

if TYPE_CHECKING:
    from pynamodb.expressions.condition import Condition
    from pynamodb.expressions.update import Action

    from crm_core.leads.validation import Lead

RECENT_POSTS = 10
_PROFILE = ("first_name", "last_name", "company", "birthday", "locale", "time_zone")


class Outcome(StrEnum):
    CREATED = "created"
    MERGED = "merged"


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def touch(lead: Lead, at: datetime) -> Touch:
    """Where this post came from, and what it said."""
    return Touch(  # type: ignore[no-untyped-call]
        at=iso(at),
        form_id=lead.form_id,
        source_page=lead.source_page,
        utm=dict(lead.utm) or None,
        message=lead.message,
    )


def consent(lead: Lead, at: datetime) -> Consent | None:
    """The consent decision this post makes, with its evidence; None when it makes none."""
    if lead.consent is None:
        return None
    return Consent(  # type: ignore[no-untyped-call]
        granted=lead.consent, at=iso(at), form_id=lead.form_id, source_page=lead.source_page
    )


def recorded(submission_id: str, outcome: Outcome) -> str:
    return f"{submission_id} {outcome.value}"


def earlier_outcome(contact: Contact, submission_id: str) -> Outcome | None:
    """The answer this submission got before, if the contact remembers it (a replay)."""
    for entry in contact.recent_posts or []:
        sid, _, outcome = entry.partition(" ")
        if sid == submission_id:
            return Outcome(outcome)
    return None


def new_contact(lead: Lead, *, submission_id: str, at: datetime) -> Contact:
    """The item of a contact this lead creates."""
    first = touch(lead, at)
    contact = Contact(
        lead.contact_id,
        email=lead.email,
        phone=lead.phone,
        phone_raw=lead.phone_raw,
        consent=consent(lead, at),
        marketing_opt_out=False if lead.consent else None,
        first_touch=first,
        last_touch=touch(lead, at),
        custom=dict(lead.custom) or None,
        created_at=at,
        updated_at=at,
        posts=1,
        recent_posts=[recorded(submission_id, Outcome.CREATED)],
    )
    for name in _PROFILE:
        setattr(contact, name, getattr(lead, name))
    contact.birthday_day = occasion_day(lead.birthday, lead.contact_id)
    return contact


def merged_custom(stored: dict[str, Any] | None, posted: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Stored custom attributes updated by the posted ones, and the new names left out by the bound."""
    merged = {str(k): str(v) for k, v in (stored or {}).items()}
    left_out: list[str] = []
    for key, value in posted.items():
        if key in merged or len(merged) < MAX_CUSTOM_PER_CONTACT:
            merged[key] = value
        else:
            left_out.append(key)
    return merged, left_out


def merge_update(
    old: Contact, lead: Lead, *, submission_id: str, at: datetime
) -> tuple[list[Action], Condition, list[str]]:
    """The actions and condition of the one UpdateItem that merges `lead` into `old`.

    Also returns the custom attribute names the per-contact bound left out.
    """
    actions: list[Action] = [
        Contact.updated_at.set(at),
        Contact.created_at.set(Contact.created_at | at),
        Contact.first_touch.set(Contact.first_touch | touch(lead, at)),
        Contact.last_touch.set(touch(lead, at)),
        Contact.posts.add(1),
        Contact.recent_posts.set(
            [*(old.recent_posts or [])[-(RECENT_POSTS - 1) :], recorded(submission_id, Outcome.MERGED)]
        ),
    ]
    for name in _PROFILE:
        value = getattr(lead, name)
        if value:
            actions.append(getattr(Contact, name).set(value))
    day = occasion_day(lead.birthday, old.contact_id)
    if day:
        actions.append(Contact.birthday_day.set(day))
    if lead.phone:
        actions.append(Contact.phone.set(lead.phone))
        if old.phone_raw:
            actions.append(Contact.phone_raw.remove())  # a number that parses supersedes the raw one
    elif lead.phone_raw:
        actions.append(Contact.phone_raw.set(lead.phone_raw))
    decision = consent(lead, at)
    if decision is not None:
        actions.append(Contact.consent.set(decision))
        if lead.consent and old.marketing_opt_out:
            actions.append(Contact.marketing_opt_out.set(False))
    left_out: list[str] = []
    if lead.custom:
        stored = old.custom.as_dict() if old.custom else None  # type: ignore[no-untyped-call]
        custom, left_out = merged_custom(stored, dict(lead.custom))
        actions.append(Contact.custom.set(custom))
    guard = Contact.posts == old.posts if old.posts is not None else Contact.posts.does_not_exist()
    return actions, Contact.contact_id.exists() & guard, left_out
