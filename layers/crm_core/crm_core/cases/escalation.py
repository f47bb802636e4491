"""The SLA escalator: every few minutes, warn and escalate the cases whose next checkpoint is due.

Each warning or escalation is emailed to its audience (the case's team, or a person named in the
rule file's `people`) and published on CaseAlertsTopic.

It reads only the `sla-due` index (shard by shard, `due_at <= now`), so a run costs in proportion
to the cases that need attention. Each checkpoint is recorded on the case with a conditional
update before it is announced, so it fires once however often runs overlap or repeat; an
announcement that fails is un-recorded and the next run tries again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crm_core import clock
from crm_core.cases import notify, store
from crm_core.cases.rules import get_policy
from crm_core.cases.sla import Checkpoint, SlaState, due_now, instant, next_checkpoint
from crm_core.clock import iso
from crm_core.errors import RetryableError
from crm_core.models.cases import SLA_SHARDS, Case, CaseEvent
from crm_core.observability import count, get_logger

if TYPE_CHECKING:
    from crm_core.cases.policy import Policy


@dataclass
class RunReport:
    """What one run did."""

    examined: int = 0
    warnings: int = 0
    breaches: int = 0
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (crm_core.observability.Report)."""
        return asdict(self)


def state_of(case: Case) -> SlaState:
    """The SLA state of a stored case: its due times until met, and the marks already recorded."""
    return SlaState(
        priority=case.priority,
        first_response_due=None if case.first_responded_at else instant(case.first_response_due),
        resolution_due=None if case.resolved_at else instant(case.resolution_due),
        marks=frozenset(case.sla_marks or set()),
    )


def run(now: datetime | None = None) -> RunReport:
    """Examine every due case; never lets one case's failure stop the others.

    Raises RetryableError after the run if any case failed (its alert is retried by the next run):
    a failure must reach Lambda's Errors metric and the on-failure queue, not only a log line.
    """
    now = now or clock.now()
    policy, report = get_policy(), RunReport()
    for shard in range(SLA_SHARDS):
        for case in store.due_cases(str(shard), now):
            report.examined += 1
            try:
                escalate(case, policy, now, report)
            except Exception:  # noqa: BLE001 - logged and retried by the next run; other cases go on
                report.failed.append(case.case_id)
                get_logger().exception("escalation failed", extra={"case_id": case.case_id})
    if report.failed:
        count("CaseEscalationFailures", len(report.failed))
        get_logger().info("escalation run", extra=report.as_dict())
        raise RetryableError(f"{len(report.failed)} cases could not be escalated: {report.failed[:5]}")
    return report


def _announce(case: Case, checkpoint: Checkpoint, policy: Policy, now: datetime, report: RunReport) -> None:
    try:  # the email is claimed once in the ledger, so a retried run never sends it twice
        notify.email_alert(case, checkpoint, policy.address_of(checkpoint.notify, case.team))
        notify.alert(case, checkpoint)
    except Exception:
        store.remove_mark(case, checkpoint.mark)
        raise
    kind = "warning" if checkpoint.level == 0 else "breach"
    store.save_event(
        CaseEvent(
            case.case_id,
            f"event#{iso(now, milliseconds=True)}#sla#{checkpoint.mark}",
            kind="sla",
            at=iso(now, milliseconds=True),
            detail=json.dumps(
                {
                    "mark": checkpoint.mark,
                    "notify": checkpoint.notify,
                    "due": iso(checkpoint.at, milliseconds=True),
                }
            ),
            subject=f"SLA {kind}: {checkpoint.target.replace('_', ' ')}"
            + (f", level {checkpoint.level}" if checkpoint.level else ""),
        )
    )
    if checkpoint.level:
        report.breaches += 1
        count("CaseSlaBreaches")
    else:
        report.warnings += 1
        count("CaseSlaWarnings")


def escalate(case: Case, policy: Policy, now: datetime, report: RunReport) -> None:
    """Fire the case's due checkpoints (each once), then move it to its next checkpoint."""
    if case.status != "open":  # paused or closed since it was indexed: leave the index
        store.set_next_checkpoint(case, None)
        return
    state = state_of(case)
    announce, silent = due_now(policy, state, now)
    recorded: list[str] = []
    for checkpoint in [*silent, *announce]:
        if not store.add_mark(case, checkpoint.mark, now=now):
            recorded.append(checkpoint.mark)  # another run fired it
            continue
        recorded.append(checkpoint.mark)
        if checkpoint in announce:
            _announce(case, checkpoint, policy, now, report)
    store.set_next_checkpoint(case, next_checkpoint(policy, state, recorded))
