"""A low score becomes a case: a new one, or the resolved case the survey was about, reopened.

Exactly one case per answered occasion: a link item `survey#<contact>#<survey>#<occasion>` in the
cases table is written in the same transaction as the case (or its reopening) and its first event,
like an inbound email's Message-ID. A replayed answer, or a second low answer, finds the link and
only completes what is left (telling the team, once, through the event's `routed` mark).

The case's category comes from the routing rules applied to the comment; its priority is one
level more urgent than the contact's usual one (what routing gives them, tier and VIP included).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crm_core.cases import addressing, lifecycle, limits, notify, store
from crm_core.cases.rules import Routing, get_policy
from crm_core.cases.sla import SlaState, due_times, next_checkpoint
from crm_core.clock import iso
from crm_core.errors import RetryableError
from crm_core.models.cases import Case, CaseEvent, CaseLink, sla_shard
from crm_core.observability import count, get_logger

if TYPE_CHECKING:
    from crm_core.models import Contact
    from crm_core.models.surveys import SurveyAnswer, SurveyInvitation
    from crm_core.surveys.definitions import Survey

SUBJECTS = {
    "en": "Low satisfaction score ({score}/{top}) - {survey}",
    "it": "Punteggio di soddisfazione basso ({score}/{top}) - {survey}",
    "de": "Niedrige Zufriedenheitsbewertung ({score}/{top}) - {survey}",
    "id": "Skor kepuasan rendah ({score}/{top}) - {survey}",
}


def guard_key(contact_id: str, survey: str, occasion: str) -> str:
    """The link key that ties a low score to the one case it opened."""
    return f"survey#{contact_id}#{survey}#{occasion}"


def _event(
    case_id: str, answer: SurveyAnswer, survey: Survey, contact: Contact, now: datetime, **extra: object
) -> CaseEvent:
    subject = _subject(answer, survey)
    return CaseEvent(
        case_id,
        f"event#{iso(now, milliseconds=True)}#survey#{answer.survey}#{answer.occasion}",
        kind="survey",
        at=iso(now, milliseconds=True),
        from_address=contact.email,
        subject=subject,
        text=limits.clip(answer.comment or "", limits.TEXT_CHARS) if answer.comment else "",
        detail=json.dumps(
            {"survey": answer.survey, "occasion": answer.occasion, "score": int(answer.score),
             "scale": survey.scale, **extra},
            sort_keys=True,
        ),
    )  # fmt: skip


def _subject(answer: SurveyAnswer, survey: Survey) -> str:
    pattern = SUBJECTS.get(answer.locale or "en", SUBJECTS["en"])
    return pattern.format(score=int(answer.score), top=survey.scores[-1], survey=survey.name)


def _routing(answer: SurveyAnswer, contact: Contact) -> Routing:
    """The routing rules on the comment, as for an email from the contact (tier and VIP included)."""
    text, vip = answer.comment or "", bool(contact.vip)
    return get_policy().route(text=text, sender=contact.email, tier=contact.tier, vip=vip)


def _raised_priority(answer: SurveyAnswer, contact: Contact) -> str:
    """One level more urgent than the contact's usual priority for what the comment says."""
    return get_policy().raised(_routing(answer, contact).priority, 1)


def _open(answer: SurveyAnswer, survey: Survey, contact: Contact, now: datetime) -> tuple[str, str] | None:
    policy = get_policy()
    routing = _routing(answer, contact)
    priority = policy.raised(routing.priority, 1)  # one level above the contact's usual priority
    case_id = addressing.new_case_id()
    first_due, resolution_due = due_times(policy, priority, now)
    case = Case(
        case_id,
        contact_id=contact.contact_id,
        email=contact.email,
        name=contact.first_name or None,
        subject=_subject(answer, survey),
        status="open",
        category=routing.category,
        team=routing.team,
        priority=priority,
        rule=f"survey:{routing.rule}",
        locale=answer.locale,
        tier=contact.tier,
        vip=bool(contact.vip),
        source_message=guard_key(contact.contact_id, answer.survey, answer.occasion),
        opened_at=iso(now, milliseconds=True),
        updated_at=iso(now, milliseconds=True),
        first_response_due=iso(first_due, milliseconds=True),
        resolution_due=iso(resolution_due, milliseconds=True),
    )
    due = next_checkpoint(policy, SlaState(priority, first_due, resolution_due, frozenset()))
    if due is not None:
        case.due_at, case.due_shard = iso(due, milliseconds=True), sla_shard(case_id)
    event = _event(case_id, answer, survey, contact, now, opened=True, routing=routing._asdict())
    link = CaseLink(
        guard_key(contact.contact_id, answer.survey, answer.occasion),
        case_id=case_id, direction="in", event_key=event.event_key, sender=contact.contact_id,
    )  # fmt: skip
    written = store.record_inbound(
        event=event,
        links=[link],
        new_case=case,
        contact_update=(contact.contact_id, contact.email, 1),
        now=now,
    )
    return (case_id, event.event_key) if written else None


def _reopen(
    case: Case, answer: SurveyAnswer, survey: Survey, contact: Contact, now: datetime
) -> tuple[str, str] | None:
    policy = get_policy()
    actions: list[Any] = [Case.updated_at.set(iso(now, milliseconds=True))]
    delta = 0
    raised = _raised_priority(answer, contact)
    order = list(policy.priorities)
    if order.index(raised) < order.index(case.priority):  # never lowers what the agents set
        case.priority = raised  # the reopened SLA targets below follow it
        actions.append(Case.priority.set(raised))
    if case.status == "resolved":
        actions += lifecycle.reopen_actions(policy, case, now)
        delta = 1
    elif case.status == "waiting":
        actions += lifecycle.resume_actions(policy, case, now)
    event = _event(case.case_id, answer, survey, contact, now, opened=False, reopened=delta == 1)
    link = CaseLink(
        guard_key(contact.contact_id, answer.survey, answer.occasion),
        case_id=case.case_id, direction="in", event_key=event.event_key, sender=contact.contact_id,
    )  # fmt: skip
    written = store.record_inbound(
        event=event,
        links=[link],
        case_update=(case, actions),
        contact_update=(case.contact_id, case.email, delta),
        now=now,
    )
    return (case.case_id, event.event_key) if written else None


def _tell_team(case_id: str, event_key: str) -> Case:
    case, event = store.get_case(case_id), store.get_event(case_id, event_key)
    if case is None or event is None:
        raise RetryableError(f"case {case_id} or its event is not readable yet")
    if not event.routed:
        policy = get_policy()
        team = policy.teams.get(case.team) or policy.teams[policy.default_route.team]
        opened = bool(json.loads(event.detail or "{}").get("opened"))
        notify.to_helpdesk(case, team.queue, "case.opened" if opened else "case.reply")
        store.mark_event_routed(event)
    return case


def case_for_low_score(
    answer: SurveyAnswer, survey: Survey, invitation: SurveyInvitation | None, contact: Contact, now: datetime
) -> str:
    """The case a low answer opened or reopened (once per occasion); the team is told once.

    Raises RetryableError when the cases table or the case queue fail transiently.
    """
    guard = guard_key(contact.contact_id, answer.survey, answer.occasion)
    for _ in range(3):
        link = store.get_link(guard)
        if link is not None:
            return _tell_team(link.case_id, link.event_key or "").case_id
        about = store.get_case(invitation.case_id) if invitation and invitation.case_id else None
        if about is not None and about.status != "quarantined" and about.contact_id == contact.contact_id:
            written = _reopen(about, answer, survey, contact, now)
        else:
            written = _open(answer, survey, contact, now)
        if written is not None:
            count("SurveyCasesOpened")
            get_logger().info(
                "low survey score opened a case",
                extra={"contact_id": contact.contact_id, "case_id": written[0], "survey": answer.survey},
            )
            return _tell_team(*written).case_id
    raise RetryableError("could not record the survey's case; try again")
