"""SLA arithmetic, free of storage: targets, the 75% warning, breach levels, the pause while waiting.

Each case has two targets: first response (met by the first agent reply) and resolution. For each
open target there are checkpoints: `warning` at `warn_at` of the target, then `breach:1`,
`breach:2` ... at the due time plus each escalation level's delay. A checkpoint is named by a
mark (`first_response:warning`, `resolution:breach:2`) that the case records once it has fired,
so each fires once however often the escalator runs. Waiting on the customer moves the due times
later by the time spent waiting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from crm_core.checks import duration
from crm_core.clock import parse_instant

if TYPE_CHECKING:
    from crm_core.cases.policy import Policy

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"


def instant(text: str | None) -> datetime | None:
    """The stored instant as a datetime, None when it is not set."""
    return parse_instant(text) if text else None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A moment the SLA asks for attention: a warning (level 0) or an escalation level."""

    at: datetime
    mark: str
    target: str  # first_response | resolution
    level: int  # 0 for the warning, else the escalation level
    notify: str  # who is told: "team", "team-lead" ...


@dataclass(frozen=True, slots=True)
class SlaState:
    """What the SLA of a case needs: its priority, the due times not yet met, the marks recorded."""

    priority: str
    first_response_due: datetime | None  # None once met
    resolution_due: datetime | None  # None once met
    marks: frozenset[str]


def due_times(policy: Policy, priority: str, opened: datetime) -> tuple[datetime, datetime]:
    """First-response and resolution due times of a case opened at `opened`."""
    first, resolution = policy.target(priority)
    return opened + first, opened + resolution


def checkpoints(policy: Policy, state: SlaState) -> list[Checkpoint]:
    """Every checkpoint of the targets still open, in time order."""
    first, resolution = policy.target(state.priority)
    found: list[Checkpoint] = []
    for target, due, length in (
        (FIRST_RESPONSE, state.first_response_due, first),
        (RESOLUTION, state.resolution_due, resolution),
    ):
        if due is None:
            continue
        warn_at = due - length + length * policy.sla.warn_at
        found.append(Checkpoint(warn_at, f"{target}:warning", target, 0, "team"))
        for level in policy.sla.escalation:
            at = due + duration(level.after)
            found.append(Checkpoint(at, f"{target}:breach:{level.level}", target, level.level, level.notify))
    return sorted(found, key=lambda c: (c.at, c.level))


def pending(policy: Policy, state: SlaState) -> list[Checkpoint]:
    """The checkpoints of the case not yet recorded, due or not."""
    return [c for c in checkpoints(policy, state) if c.mark not in state.marks]


def due_now(policy: Policy, state: SlaState, now: datetime) -> tuple[list[Checkpoint], list[Checkpoint]]:
    """(checkpoints to announce, checkpoints to record silently) that are due at `now`.

    A warning whose target has already breached is recorded without a message: the breach says more.
    """
    due = [c for c in pending(policy, state) if c.at <= now]
    breached = {c.target for c in due if c.level > 0} | {
        m.split(":")[0] for m in state.marks if ":breach:" in m
    }
    announce = [c for c in due if c.level > 0 or c.target not in breached]
    silent = [c for c in due if c not in announce]
    return announce, silent


def next_checkpoint(policy: Policy, state: SlaState, recorded: Iterable[str] = ()) -> datetime | None:
    """When the escalator should look at the case again; None when nothing is left to watch."""
    done = state.marks | set(recorded)
    remaining = [c.at for c in checkpoints(policy, state) if c.mark not in done]
    return min(remaining) if remaining else None
