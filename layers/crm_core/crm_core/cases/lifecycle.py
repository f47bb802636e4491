"""A case's status and its SLA clock: open, waiting on the customer (clock paused), resolved, quarantined.

| from \\ to | open | waiting | resolved |
|---|---|---|---|
| open | - | pause the clock | stop the clock, contact -1 |
| waiting | resume: due times move by the wait | - | stop, contact -1 |
| resolved | reopen: fresh resolution target, contact +1 | no | - |
| quarantined | release: SLA starts now, team told, contact +1 | no | dismiss |

Every change is a conditional update on the status it started from, so two agents (or a replay)
cannot apply it twice; asking for the status a case already has changes nothing.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crm_core.cases import notify, store
from crm_core.cases.rules import get_policy
from crm_core.cases.sla import SlaState, due_times, instant, next_checkpoint
from crm_core.clock import iso
from crm_core.errors import Conflict, FieldError, NotFound, ValidationFailed
from crm_core.models.cases import Case, CaseEvent, sla_shard

if TYPE_CHECKING:
    from crm_core.cases.policy import Policy

STATUSES = ("open", "waiting", "resolved", "quarantined")
CASE_SURVEY = "case-survey"  # the campaign (campaigns.yaml) that asks the after-case survey
ALLOWED = {
    "open": {"waiting", "resolved"},
    "waiting": {"open", "resolved"},
    "resolved": {"open"},
    "quarantined": {"open", "resolved"},
}


def due_actions(case_id: str, due: datetime | None) -> list[Any]:
    """Put the case in the SLA index at `due`, or take it out."""
    if due is None:
        return [Case.due_at.remove(), Case.due_shard.remove()]
    return [Case.due_at.set(iso(due, milliseconds=True)), Case.due_shard.set(sla_shard(case_id))]


def reopen_actions(policy: Policy, case: Case, now: datetime) -> list[Any]:
    """A resolved case becomes open again, with a fresh resolution target (its marks cleared)."""
    _, resolution = policy.target(case.priority)
    keep = {m for m in (case.sla_marks or set()) if m.startswith("first_response:")}
    first_due = None if case.first_responded_at else instant(case.first_response_due)
    state = SlaState(case.priority, first_due, now + resolution, frozenset(keep))
    return [
        Case.status.set("open"),
        Case.resolved_at.remove(),
        Case.reopened.add(1),
        Case.resolution_due.set(iso(now + resolution, milliseconds=True)),
        Case.sla_marks.set(keep) if keep else Case.sla_marks.remove(),
        *due_actions(case.case_id, next_checkpoint(policy, state)),
    ]


def resume_actions(policy: Policy, case: Case, now: datetime) -> list[Any]:
    """A case waiting on the customer goes back to open; its due times move by the time waited."""
    paused = instant(case.paused_at) or now
    waited = max(now - paused, timedelta(0))
    first_due = None if case.first_responded_at else instant(case.first_response_due)
    first_due = first_due + waited if first_due else None
    resolution_due = (instant(case.resolution_due) or now) + waited
    state = SlaState(case.priority, first_due, resolution_due, frozenset(case.sla_marks or set()))
    actions: list[Any] = [
        Case.status.set("open"),
        Case.paused_at.remove(),
        Case.resolution_due.set(iso(resolution_due, milliseconds=True)),
        *due_actions(case.case_id, next_checkpoint(policy, state)),
    ]
    if first_due is not None:
        actions.append(Case.first_response_due.set(iso(first_due, milliseconds=True)))
    return actions


def _release_actions(policy: Policy, case: Case, now: datetime) -> list[Any]:
    first_due, resolution_due = due_times(policy, case.priority, now)
    state = SlaState(case.priority, first_due, resolution_due, frozenset())
    return [
        Case.status.set("open"),
        Case.quarantine_reason.remove(),
        Case.first_response_due.set(iso(first_due, milliseconds=True)),
        Case.resolution_due.set(iso(resolution_due, milliseconds=True)),
        *due_actions(case.case_id, next_checkpoint(policy, state)),
    ]


def _transition(policy: Policy, case: Case, target: str, now: datetime) -> tuple[list[Any], int]:
    """The update actions and the change in the contact's open-case count."""
    current = case.status
    if target == "waiting":
        return [
            Case.status.set("waiting"),
            Case.paused_at.set(iso(now, milliseconds=True)),
            *due_actions(case.case_id, None),
        ], 0
    if target == "resolved":
        actions = [
            Case.status.set("resolved"),
            Case.resolved_at.set(iso(now, milliseconds=True)),
            Case.paused_at.remove(),
            *due_actions(case.case_id, None),
        ]
        return actions, (0 if current == "quarantined" else -1)
    if current == "waiting":
        return resume_actions(policy, case, now), 0
    if current == "resolved":
        return reopen_actions(policy, case, now), 1
    return _release_actions(policy, case, now), 1


def change_status(
    case_id: str, status: str, *, now: datetime, by: str | None = None, note: str | None = None
) -> Case:
    """Move a case to `status`.

    Raises ValidationFailed (unknown status), NotFound, Conflict (not allowed, or changed meanwhile).
    """
    if status not in STATUSES or status == "quarantined":
        raise ValidationFailed([FieldError("status", "must be one of open, waiting, resolved")])
    case = store.get_case(case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if case.status == status:
        _finish(case, now)
        return case
    current = case.status
    if status not in ALLOWED.get(current, set()):
        raise Conflict(f"a {current} case cannot become {status}")
    policy = get_policy()
    actions, delta = _transition(policy, case, status, now)
    actions.append(Case.updated_at.set(iso(now, milliseconds=True)))
    if not store.update_case(case, actions, now=now, condition=Case.status == current, contact_delta=delta):
        raise Conflict("the case changed meanwhile; read it again")
    store.save_event(
        CaseEvent(
            case_id,
            f"event#{iso(now, milliseconds=True)}#status#{current}-{status}",
            kind="status",
            at=iso(now, milliseconds=True),
            detail=json.dumps({"from": current, "to": status, "by": by, "note": note}, sort_keys=True),
        )
    )
    _announce(policy, case, current, status, now)
    return case


def _finish(case: Case, now: datetime) -> None:
    """Asked again for the status it has: a resolution's replay finishes what a crash left."""
    if case.status == "resolved":
        resolved_at = instant(case.resolved_at) or now
        ask_survey(case, resolved_at)
        _tell_lifecycle("resolved", case, resolved_at)


def _announce(policy: Policy, case: Case, before: str, after: str, now: datetime) -> None:
    """A released case reaches its team and the contact's lifecycle; a resolved one asks the survey."""
    if before == "quarantined" and after == "open":
        team = policy.teams.get(case.team) or policy.teams[policy.default_route.team]
        notify.to_helpdesk(case, team.queue, "case.opened")
        _tell_lifecycle("opened", case, now)
    if after == "resolved":
        ask_survey(case, now)
        _tell_lifecycle("resolved", case, now)


def _tell_lifecycle(kind: str, case: Case, at: datetime) -> None:
    """The contact's lifecycle hears of the complaint ("opened", "resolved"); a dismissed one (spam,
    automated or unverified mail) was never a complaint of theirs."""
    if case.quarantine_reason or case.unverified or not case.contact_id:
        return
    from crm_core.lifecycle.bus import tell_case  # noqa: PLC0415 - EventBridge only on a status change

    tell_case(kind, case.contact_id, case.case_id, iso(at, milliseconds=True))


def ask_survey(case: Case, resolved_at: datetime) -> bool:
    """Enroll the contact in the after-case survey, once per case; never for a case that came out
    of quarantine by dismissal (spam, automated or unverified mail: nobody to ask)."""
    if case.quarantine_reason or case.unverified:
        return False
    from crm_core.campaigns.enrollment import enroll  # noqa: PLC0415 - only resolutions enroll

    return enroll(
        case.contact_id,
        CASE_SURVEY,
        at=resolved_at,
        occurrence=case.case_id,
        context={"case_id": case.case_id, "team": case.team},
    )
