"""Scheduled functions (`Schedule`, `ScheduleV2` events): run on demand, or by the local clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_core import clock
from infra.local import events, expressions
from infra.local.runtime import Runtime
from infra.local.triggers.lookup import NotFoundError
from infra.template import ACCOUNT_ID, Template


@dataclass
class Schedule:
    function: str
    event: str
    expression: str
    scheduler: bool  # ScheduleV2 (EventBridge Scheduler) rather than an EventBridge rule
    payload: str | None
    enabled: bool
    resource_arn: str
    parsed: expressions.Expression | None
    problem: str | None = None
    last_run: datetime | None = None
    last_status: str | None = None
    last_check: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "logical_id": self.function,  # the function's; `event` names which of its schedules
            "function": self.function,
            "event": self.event,
            "expression": self.expression,
            "enabled": self.enabled,
            "last_run": self.last_run and clock.iso(self.last_run),
            "last_status": self.last_status,
            **({"problem": self.problem} if self.problem else {}),
        }


class Schedules:
    """Scheduled functions: run on demand, or by the local clock when auto mode is on."""

    def __init__(self, template: Template, runtime: Runtime) -> None:
        self.runtime = runtime
        self.started = clock.now()
        self.items: list[Schedule] = []
        for logical_id, function in template.functions().items():
            for name, event in function.events.items():
                if event.get("Type") not in {"Schedule", "ScheduleV2"}:
                    continue
                props = template.resolve(event.get("Properties", {}) or {})
                scheduler = event["Type"] == "ScheduleV2"
                expression = str(props.get("ScheduleExpression" if scheduler else "Schedule", ""))
                state = str(props.get("State", "ENABLED")).upper()
                enabled = bool(props.get("Enabled", True)) and state == "ENABLED"
                payload = props.get("Input")
                region = template.region
                if scheduler:
                    group = props.get("GroupName", "default")
                    arn = f"arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule/{group}/{logical_id}{name}"
                else:
                    arn = f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{template.stack}-{logical_id}{name}"
                try:
                    parsed: expressions.Expression | None = expressions.parse(
                        expression, props.get("ScheduleExpressionTimezone")
                    )
                    problem = None
                except (expressions.ExpressionError, ValueError) as exc:
                    parsed, problem = None, str(exc)
                self.items.append(
                    Schedule(
                        logical_id,
                        name,
                        expression,
                        scheduler,
                        None if payload is None else str(payload),
                        enabled,
                        arn,
                        parsed,
                        problem,
                    )
                )

    def describe(self) -> list[dict[str, Any]]:
        return [s.as_dict() for s in self.items]

    def of(self, function: str, event: str | None = None) -> list[Schedule]:
        found = [s for s in self.items if s.function == function and (event is None or s.event == event)]
        if not found:
            known = sorted({s.function for s in self.items})
            raise NotFoundError(f"{function} has no schedule {event or ''} (scheduled functions: {known})")
        return found

    def run(self, schedule: Schedule) -> dict[str, Any]:
        """Invoke the function now, at the local clock's time, as the schedule would."""
        at = clock.now()
        event = events.scheduled_event(
            at=at,
            region=self.runtime.template.region,
            resource_arn=schedule.resource_arn,
            scheduler=schedule.scheduler,
            payload=schedule.payload,
        )
        outcome = self.runtime.invoke_async(schedule.function, event).as_dict()
        schedule.last_run, schedule.last_status = at, outcome["status"]
        return {
            "schedule": schedule.event,
            "expression": schedule.expression,
            "time": clock.iso(at),
        } | (outcome)

    def due(self, now: datetime) -> list[Schedule]:
        """Schedules with a firing in (last check, now]; a jump of the clock fires each at most once."""
        found = []
        for schedule in self.items:
            last = schedule.last_check or self.started
            schedule.last_check = now
            if not schedule.enabled or schedule.parsed is None or now <= last:
                continue
            fire = schedule.parsed.next_after(last, self.started)
            if fire is not None and fire <= now:
                found.append(schedule)
        return found


class AutoScheduler(threading.Thread):
    """Fires due schedules by the local clock, twice a second, until stopped."""

    def __init__(self, schedules: Schedules, log: Callable[[str], None]) -> None:
        super().__init__(name="schedules", daemon=True)
        self.schedules = schedules
        self._log = log
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.5):
            self.tick()

    def tick(self) -> list[dict[str, Any]]:
        """Run every schedule due by the local clock now; their outcomes."""
        outcomes = []
        for schedule in self.schedules.due(clock.now()):
            outcome = self.schedules.run(schedule)
            self._log(
                f"schedule {schedule.function}.{schedule.event} ({schedule.expression}) at "
                f"{outcome['time']}: {outcome['status']} after {outcome['attempts']} attempt(s)"
            )
            outcomes.append(outcome)
        return outcomes

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
