"""Moving an enrollment on: every write is conditional, so two overlapping runs cannot both act.

Advancing and rescheduling require the step the caller read (`step = n AND status = active`); the
loser of a race gets False and leaves the enrollment to the winner. Finishing drops `due_shard` and
`due_at`, which takes the enrollment out of the sparse due index.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from crm_core.clock import iso
from crm_core.models.base import update_if
from crm_core.models.enrollments import Enrollment

ACTIVE, COMPLETED, EXITED = "active", "completed", "exited"


def _at_step(enrollment: Enrollment) -> Condition:
    condition: Condition = (Enrollment.status == ACTIVE) & (Enrollment.step == enrollment.step)
    return condition


def _finish_actions(status: str, reason: str | None, now: datetime) -> list[Action]:
    actions: list[Action] = [
        Enrollment.status.set(status),
        Enrollment.finished_at.set(now),
        Enrollment.due_at.remove(),
        Enrollment.due_shard.remove(),
    ]
    if reason:
        actions.append(Enrollment.exit_reason.set(reason))
    return actions


def advance(enrollment: Enrollment, *, now: datetime, next_due: datetime | None) -> bool:
    """Mark the current step handled: the next step becomes due at `next_due`, or, when None, the
    enrollment completes. False if another run moved it first."""
    actions: list[Action] = [Enrollment.step.set(enrollment.step + 1), Enrollment.last_step_at.set(now)]
    if next_due is None:
        actions += _finish_actions(COMPLETED, None, now)
    else:
        actions.append(Enrollment.due_at.set(iso(next_due)))
    return update_if(enrollment, actions, _at_step(enrollment))


def reschedule(enrollment: Enrollment, due: datetime) -> bool:
    """Look at the current step again at `due` (quiet hours, a paused contact, a claim in flight)."""
    return update_if(enrollment, [Enrollment.due_at.set(iso(due))], _at_step(enrollment))


def finish(enrollment: Enrollment, *, now: datetime, reason: str | None, status: str = EXITED) -> bool:
    """End the enrollment whatever its step (exit with `reason`, or complete); False if already ended."""
    return update_if(enrollment, _finish_actions(status, reason, now), Enrollment.status == ACTIVE)
