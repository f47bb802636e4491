"""The merge rules, as DynamoDB writes: a new contact's item, or the one conditional update of a merge.

Sources, least trusted first (`Source`): an anonymous form post < an operator's import < an order
< an agent < a consent the address owner confirmed through the emailed link. The rules:

- Identity: the contact key is the address (crm_core.contacts.identity), so no source, and
  certainly no anonymous post, changes where mail goes.
- A non-empty profile value replaces the stored one only when its source is at least as trusted as
  the source that set the stored one (`field_sources`); a less trusted value is left out and
  reported (`Captured.kept`), never silently applied. An empty value never replaces anything.
- Consent: a refusal (`consent: false`) always counts, from any source: withdrawing is never less
  safe. A consent counts at once only when it is the first word after no refusal (and the
  DOUBLE_OPT_IN setting is "renewed-only"); after an opt-out, a refusal or an unsubscribe (or for
  every consent when DOUBLE_OPT_IN is "always") it becomes `consent_pending` and the address owner
  is asked to confirm it (crm_core.contacts.consent). Only a confirmed consent lifts an opt-out
  and a marketing suppression; a bounce or complaint suppression is never lifted by consent.
- First touch and created_at are set once (if_not_exists); last touch and updated_at every post.
- `posts` counts the posts; the update is conditioned on the count it read, so two posts racing
  cannot both apply their view of `custom` and `recent_posts` (the loser retries).
- `recent_posts` keeps the last RECENT_POSTS submission ids with the answer they got and a digest
  of the lead: a replay is answered the same way and writes nothing; the same id with another
  content is a conflict (crm_core.leads.service).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from crm_core.clock import iso
from crm_core.contacts import history
from crm_core.leads.fields import MAX_CUSTOM_PER_CONTACT
from crm_core.models.contacts import Consent, ConsentEvent, Contact, Touch, occasion_day

if TYPE_CHECKING:
    from pynamodb.expressions.condition import Condition
    from pynamodb.expressions.update import Action

    from crm_core.leads.validation import Lead

RECENT_POSTS = 10
_PROFILE = ("first_name", "last_name", "company", "birthday", "locale", "time_zone")
_PROFILE_AND_PHONE = (*_PROFILE, "phone")
# A pending consent younger than this is not asked again: posting a form in a loop cannot flood the inbox.
ASK_AGAIN_AFTER = timedelta(days=1)
DOUBLE_OPT_IN_ALWAYS = "always"
DOUBLE_OPT_IN_RENEWED = "renewed-only"


class Outcome(StrEnum):
    """Whether a post made a new contact or merged into an existing one."""

    CREATED = "created"
    MERGED = "merged"


class Source(StrEnum):
    """Where a contact's data came from, least trusted first."""

    FORM = "form"  # anyone on the internet who typed the address into a form
    IMPORT = "import"  # an operator's CSV import
    ORDER = "order"  # the shop, for a paid order
    AGENT = "agent"  # a person of the business, by hand
    CONFIRMED = "confirmed"  # the address owner, through a signed link mailed to the address

    @property
    def rank(self) -> int:
        """Position in trust order: a source may overwrite the data of sources of lower or equal rank."""
        return list(Source).index(self)


def rank_of(value: str | None) -> int:
    """The rank of a stored source name; data recorded before sources existed ranks as a form post."""
    try:
        return Source(value).rank if value else Source.FORM.rank
    except ValueError:
        return Source.FORM.rank


def touch(lead: Lead, at: datetime) -> Touch:
    """Where this post came from, and what it said."""
    return Touch(  # type: ignore[no-untyped-call]
        at=iso(at),
        form_id=lead.form_id,
        source_page=lead.source_page,
        utm=dict(lead.utm) or None,
        message=lead.message,
    )


def evidence(lead: Lead, at: datetime, source: Source, *, granted: bool) -> Consent:
    """A consent decision with its evidence: when, which form and page, which source."""
    return Consent(  # type: ignore[no-untyped-call]
        granted=granted, at=iso(at), form_id=lead.form_id, source_page=lead.source_page, source=source.value
    )


@dataclass(frozen=True, slots=True)
class ConsentPlan:
    """What a post does to consent: record a decision, ask the owner to confirm, or nothing."""

    record: Consent | None = None  # the decision to store as `consent`
    pending: Consent | None = None  # a consent to store as `consent_pending` (a new link is sent)
    keep_pending: bool = False  # a recent request is still open: store nothing, send nothing
    clear_pending: bool = False  # a refusal supersedes an open request


def _refused_before(old: Contact | None, marketing_suppressed: bool) -> bool:
    """True when the address's owner (or someone) said no before: consent must then be confirmed."""
    if marketing_suppressed:
        return True
    if old is None:
        return False
    return bool(old.marketing_opt_out) or (old.consent is not None and old.consent.granted is False)


def _needs_confirmation(old: Contact | None, double_opt_in: str, marketing_suppressed: bool) -> bool:
    if _refused_before(old, marketing_suppressed):
        return True
    if double_opt_in != DOUBLE_OPT_IN_ALWAYS:
        return False
    stored = old.consent if old is not None else None
    return not (stored is not None and stored.granted and stored.source == Source.CONFIRMED.value)


def _ask(old: Contact | None, lead: Lead, source: Source, at: datetime) -> ConsentPlan:
    open_request = old.consent_pending if old is not None else None
    if open_request is not None and datetime.fromisoformat(open_request.at) > at - ASK_AGAIN_AFTER:
        return ConsentPlan(keep_pending=True)
    return ConsentPlan(pending=evidence(lead, at, source, granted=True))


def plan_consent(
    old: Contact | None,
    lead: Lead,
    *,
    source: Source,
    at: datetime,
    double_opt_in: str,
    marketing_suppressed: bool,
) -> ConsentPlan:
    """The consent rules of the module docstring, for one post from `source`."""
    if lead.consent is None:
        return ConsentPlan()
    if lead.consent is False or source is Source.CONFIRMED:
        return ConsentPlan(record=evidence(lead, at, source, granted=lead.consent), clear_pending=True)
    if _needs_confirmation(old, double_opt_in, marketing_suppressed):
        return _ask(old, lead, source, at)
    stored = old.consent if old is not None else None
    if stored is not None and stored.granted and rank_of(stored.source) > source.rank:
        return ConsentPlan()  # a more trusted yes stays as it was recorded
    return ConsentPlan(record=evidence(lead, at, source, granted=True))


def recorded(submission_id: str, outcome: Outcome, digest: str = "") -> str:
    """The entry a contact keeps for a post it has seen: its id, the answer and the digest."""
    return f"{submission_id} {outcome.value} {digest}".rstrip()


def earlier_post(contact: Contact, submission_id: str) -> tuple[Outcome, str] | None:
    """The answer this submission got before and the digest of what it said, if the contact remembers
    it (a replay, or a reused key); the digest is "" for entries recorded before digests were kept."""
    for entry in contact.recent_posts or []:
        sid, _, rest = entry.partition(" ")
        if sid == submission_id:
            outcome, _, digest = rest.partition(" ")
            return Outcome(outcome), digest
    return None


def new_contact(
    lead: Lead, *, submission_id: str, at: datetime, source: Source, plan: ConsentPlan, digest: str = ""
) -> Contact:
    """The item of a contact this lead creates."""
    first = touch(lead, at)
    contact = Contact(
        lead.contact_id,
        email=lead.email,
        phone=lead.phone,
        phone_raw=lead.phone_raw,
        consent=plan.record,
        consent_pending=plan.pending,
        consent_log=_history_entries(plan) or None,
        marketing_opt_out=False if plan.record is not None and plan.record.granted else None,
        first_touch=first,
        last_touch=touch(lead, at),
        custom=dict(lead.custom) or None,
        created_at=at,
        updated_at=at,
        posts=1,
        recent_posts=[recorded(submission_id, Outcome.CREATED, digest)],
    )
    for name in _PROFILE:
        setattr(contact, name, getattr(lead, name))
    given = {name: source.value for name in _PROFILE_AND_PHONE if getattr(lead, name)}
    contact.field_sources = given or None  # type: ignore[assignment]
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


@dataclass(frozen=True, slots=True)
class MergePlan:
    """The contact update a post makes, the condition it is made under, and what it left alone."""

    actions: list[Action]
    condition: Condition
    custom_left_out: list[str]
    kept: list[str]  # profile fields a more trusted source set, which this post did not overwrite


def _profile_actions(old: Contact, lead: Lead, source: Source) -> tuple[list[Action], list[str]]:
    """Profile updates this source may make, and the fields a more trusted source keeps."""
    stored = old.field_sources.as_dict() if old.field_sources else {}  # type: ignore[no-untyped-call]
    sources = {str(k): str(v) for k, v in stored.items()}
    actions: list[Action] = []
    kept: list[str] = []
    for name in _PROFILE_AND_PHONE:
        value = getattr(lead, name)
        if not value or value == getattr(old, name):
            continue
        if rank_of(sources.get(name)) > source.rank:
            kept.append(name)
            continue
        actions += [getattr(Contact, name).set(value), *_follow_ups(old, name, value)]
        sources[name] = source.value
    if lead.phone_raw and not lead.phone:
        if rank_of(sources.get("phone")) > source.rank:
            kept.append("phone")
        else:
            actions.append(Contact.phone_raw.set(lead.phone_raw))
    if sources:
        actions.append(Contact.field_sources.set(sources))
    return actions, kept


def _follow_ups(old: Contact, name: str, value: str) -> list[Action]:
    """What setting a profile field brings along: a birthday's index key, the end of a raw phone."""
    if name == "birthday":
        day = occasion_day(value, old.contact_id)
        return [Contact.birthday_day.set(day)] if day else []
    if name == "phone" and old.phone_raw:
        return [Contact.phone_raw.remove()]  # a number that parses supersedes the raw one
    return []


def merge_update(
    old: Contact,
    lead: Lead,
    *,
    submission_id: str,
    at: datetime,
    source: Source,
    plan: ConsentPlan,
    digest: str = "",
) -> MergePlan:
    """The actions and condition of the one UpdateItem that merges `lead` into `old`."""
    actions: list[Action] = [
        Contact.updated_at.set(at),
        Contact.created_at.set(Contact.created_at | at),
        Contact.first_touch.set(Contact.first_touch | touch(lead, at)),
        Contact.last_touch.set(touch(lead, at)),
        Contact.posts.add(1),
        Contact.recent_posts.set(
            [
                *(old.recent_posts or [])[-(RECENT_POSTS - 1) :],
                recorded(submission_id, Outcome.MERGED, digest),
            ]
        ),
    ]
    profile, kept = _profile_actions(old, lead, source)
    actions += profile
    if plan.record is not None:
        actions.append(Contact.consent.set(plan.record))
        if plan.record.granted and source is Source.CONFIRMED and old.marketing_opt_out:
            actions.append(Contact.marketing_opt_out.set(False))
    if plan.pending is not None:
        actions.append(Contact.consent_pending.set(plan.pending))
    elif plan.clear_pending and old.consent_pending is not None:
        actions.append(Contact.consent_pending.remove())
    actions += history.append(old, _history_entries(plan))
    left_out: list[str] = []
    if lead.custom:
        stored = old.custom.as_dict() if old.custom else None  # type: ignore[no-untyped-call]
        custom, left_out = merged_custom(stored, dict(lead.custom))
        actions.append(Contact.custom.set(custom))
    guard = Contact.posts == old.posts if old.posts is not None else Contact.posts.does_not_exist()
    return MergePlan(actions, Contact.contact_id.exists() & guard, left_out, kept)


def _history_entries(plan: ConsentPlan) -> list[ConsentEvent]:
    """The consent history entries a post adds: its decision, or its request for confirmation."""
    entries = [history.of_decision(plan.record)] if plan.record is not None else []
    if plan.pending is not None:
        entries.append(history.of_decision(plan.pending, pending=True))
    return entries
