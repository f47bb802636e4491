"""`/_local/...`: the local stack's control routes (outbox, inbox, clock, schedules, queues, topics, buses,
SES events).

They depend on the small `Controlled` protocol, not on the stack that implements it.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from crm_core import clock
from infra.local import events, gateway
from infra.local.triggers.lookup import NotFoundError

if TYPE_CHECKING:
    from infra.local.parts import StackParts
    from infra.local.triggers.schedules import Schedule

Answer = gateway.HttpAnswer


class Controlled(Protocol):
    """What the control routes need of a running stack."""

    @property
    def url(self) -> str: ...

    @property
    def auto_schedules(self) -> bool: ...

    @property
    def routes(self) -> list[gateway.Route]: ...

    @property
    def clock(self) -> clock.MovableClock: ...

    @property
    def parts(self) -> StackParts:
        """The running parts; raises RuntimeError before the stack has started."""
        ...


def json_answer(status: int, document: Any) -> Answer:
    body = json.dumps(document, indent=2, default=str).encode()
    return Answer(status, [("content-type", "application/json")], body)


class ControlRoutes:
    """`/_local/...`: outbox, inbox, clock, schedules, queues, topics, and what the stack serves."""

    def __init__(self, stack: Controlled) -> None:
        self.stack = stack
        self.table: list[tuple[str, re.Pattern[str], Callable[..., Answer]]] = [
            ("GET", re.compile(r"/_local/?"), self.info),
            ("GET", re.compile(r"/_local/routes"), self.routes),
            ("GET", re.compile(r"/_local/outbox"), self.outbox),
            ("POST", re.compile(r"/_local/inbox"), self.inbox),
            ("GET", re.compile(r"/_local/clock"), self.get_clock),
            ("POST", re.compile(r"/_local/clock"), self.set_clock),
            ("GET", re.compile(r"/_local/schedules"), self.schedules),
            ("POST", re.compile(r"/_local/schedules/(?P<name>[^/]+)"), self.run_schedule),
            ("GET", re.compile(r"/_local/queues"), self.queues),
            ("POST", re.compile(r"/_local/queues/(?P<name>[^/]+)"), self.send_to_queue),
            ("GET", re.compile(r"/_local/topics"), self.topics),
            ("POST", re.compile(r"/_local/topics/(?P<name>[^/]+)"), self.publish),
            ("GET", re.compile(r"/_local/buses"), self.buses),
            ("POST", re.compile(r"/_local/buses/(?P<name>[^/]+)"), self.put_event),
            ("POST", re.compile(r"/_local/ses-events"), self.ses_event),
            ("POST", re.compile(r"/_local/buckets/(?P<name>[^/]+)/(?P<key>.+)"), self.put_object),
            ("GET", re.compile(r"/_local/iam"), self.iam),
        ]

    def handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> Answer:
        allowed = []
        for route_method, pattern, action in self.table:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if route_method != method:
                allowed.append(route_method)
                continue
            try:
                return action(query=query, body=body, **match.groupdict())
            except NotFoundError as exc:
                return json_answer(404, {"message": str(exc)})
            except (ValueError, KeyError) as exc:
                return json_answer(400, {"message": str(exc)})
        if allowed:
            return json_answer(405, {"message": f"{path} answers {', '.join(sorted(set(allowed)))}"})
        return json_answer(404, {"message": f"no local route {path}", "routes": self._names()})

    @property
    def parts(self) -> StackParts:
        return self.stack.parts

    def _names(self) -> list[str]:
        return [f"{m} {p.pattern}" for m, p, _ in self.table]

    # ---- the routes ------------------------------------------------------------------------------
    def info(self, **_: Any) -> Answer:
        parts = self.parts
        return json_answer(
            200,
            {
                "url": self.stack.url,
                "moto_endpoint": parts.moto_url,
                "region": parts.template.region,
                "clock": clock.iso(clock.now()),
                "auto_schedules": self.stack.auto_schedules,
                "parameters": parts.template.param_values,
                "routes": self._route_list(),
                "control": self._names(),
                "schedules": parts.schedules.describe(),
                "queues": [q.logical_id for q in parts.queues.items.values()],
                "topics": parts.topics.describe(),
                "buses": parts.buses.describe(),
            },
        )

    def _route_list(self) -> list[dict[str, Any]]:
        return [
            {
                "method": r.method,
                "path": r.path,
                "function": r.function,
                "auth": "AWS_IAM" if r.iam else "NONE",
            }
            for r in self.stack.routes
        ]

    def routes(self, **_: Any) -> Answer:
        return json_answer(200, self._route_list())

    def iam(self, **_: Any) -> Answer:
        """What the IAM check saw: per function, the calls its role allowed, the denials, unused grants."""
        deployment = self.parts.deployment
        return json_answer(
            200,
            {
                "enforced": True,
                "used": deployment.usage(),
                "denials": list(deployment.denials),
                "unused_grants": deployment.unused_grants(),
            },
        )

    def outbox(self, **_: Any) -> Answer:
        return json_answer(200, self.parts.outbox.entries())

    def inbox(self, query: dict[str, str], body: bytes, **_: Any) -> Answer:
        if not body.strip():
            raise ValueError("the body must be a raw RFC 5322 message")
        verdicts = {}
        for name in events.VERDICTS:
            value = query.get(name, "PASS").upper()
            if value not in events.VERDICT_VALUES:
                raise ValueError(f"{name} must be one of {sorted(events.VERDICT_VALUES)}, not {value!r}")
            verdicts[name] = value
        status, answer = self.parts.inbox.deliver(body, verdicts)
        return json_answer(status, answer)

    def get_clock(self, **_: Any) -> Answer:
        return json_answer(200, {"now": clock.iso(clock.now())})

    def set_clock(self, body: bytes, **_: Any) -> Answer:
        request = _json_object(body)
        if "now" in request:
            self.stack.clock.set(clock.parse_instant(str(request["now"])))
        elif "advance" in request:
            self.stack.clock.set(advance(clock.now(), request["advance"]))
        else:
            raise ValueError('send {"now": "2027-02-28T09:30:00Z"} or {"advance": "P1D"} (or seconds)')
        return json_answer(200, {"now": clock.iso(clock.now())})

    def schedules(self, **_: Any) -> Answer:
        return json_answer(200, self.parts.schedules.describe())

    def run_schedule(self, name: str, query: dict[str, str], **_: Any) -> Answer:
        found = self.parts.schedules.of(name, query.get("event"))
        runs = [self._run_one(s) for s in found]
        if len(runs) == 1:
            return json_answer(200, runs[0])
        status = "failed" if any(r["status"] == "failed" for r in runs) else "succeeded"
        return json_answer(200, {"function": name, "status": status, "runs": runs})

    def _run_one(self, schedule: Schedule) -> dict[str, Any]:
        """One run with the emails it sent; a failed run's `result` says what it did before the error."""
        mark = self.parts.outbox.count()
        run = self.parts.schedules.run(schedule)
        sent = [{"to": e.get("to"), "subject": e.get("subject")} for e in self.parts.outbox.entries(mark)]
        run["sent"] = sent
        if run["status"] == "failed":
            error = run.get("error") or {}
            run["result"] = {
                "sent": len(sent),
                "error": f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}",
            }
        return run

    def queues(self, **_: Any) -> Answer:
        return json_answer(200, self.parts.queues.describe())

    def send_to_queue(self, name: str, body: bytes, query: dict[str, str], **_: Any) -> Answer:
        self.parts.queues.info(name)
        if body.strip():
            _json_any(body)  # the contract: the body is one JSON message
            return json_answer(
                200, self.parts.queues.put_and_deliver(name, body.decode(), query.get("group"))
            )
        return json_answer(200, {"queue": name, "message_id": None} | self.parts.queues.deliver(name))

    def topics(self, **_: Any) -> Answer:
        return json_answer(200, self.parts.topics.describe())

    def publish(self, name: str, body: bytes, query: dict[str, str], **_: Any) -> Answer:
        if not body:
            raise ValueError("the body is the message to publish")
        return json_answer(200, self.parts.topics.publish(name, body.decode(), query.get("subject")))

    def buses(self, **_: Any) -> Answer:
        return json_answer(200, self.parts.buses.describe())

    def put_event(self, name: str, body: bytes, **_: Any) -> Answer:
        entry = _json_any(body)  # {"DetailType", "Source", "Detail": {...}} as PutEvents takes one entry
        if not isinstance(entry, dict) or not entry.get("DetailType"):
            raise ValueError(
                'the body is one PutEvents entry: {"DetailType": ..., "Source": ..., "Detail": {...}}'
            )
        detail = entry.get("Detail", {})
        entry = {**entry, "Detail": detail if isinstance(detail, str) else json.dumps(detail)}
        return json_answer(200, self.parts.buses.put(name, entry))

    def ses_event(self, body: bytes, **_: Any) -> Answer:
        # one SES event record: {"eventType": "Bounce", "bounce": ..., "mail": ...}
        record = _json_object(body)
        return json_answer(200, self.parts.buses.ses_event(record))

    def put_object(self, name: str, key: str, body: bytes, **_: Any) -> Answer:
        return json_answer(200, self.parts.buckets.put(name, key, body))


# ISO 8601 durations with calendar years and months: not crm_core.checks.duration's "30m"/"12h"/"2d",
# which business files use, and which cannot say "a month later" (time travel to the next renewal).
_DURATION = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)


def advance(now: datetime, amount: object) -> datetime:
    """`now` moved by seconds (a number) or an ISO 8601 duration (P1D, PT2H, P1Y2M, P2W); a month
    later than January 31 is the last day of February. Raises ValueError for anything else."""
    if isinstance(amount, int | float) and not isinstance(amount, bool):
        return now + timedelta(seconds=amount)
    text = str(amount).strip().upper()
    match = _DURATION.fullmatch(text)
    if match is None or text in {"P", "PT"}:
        raise ValueError(f"advance must be seconds or an ISO 8601 duration like P1D, not {amount!r}")
    parts = {k: float(v) if k == "seconds" else int(v) for k, v in match.groupdict().items() if v}
    now = _add_months(now, int(parts.get("years", 0) * 12 + parts.get("months", 0)))
    return now + timedelta(
        weeks=parts.get("weeks", 0),
        days=parts.get("days", 0),
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )


def _add_months(at: datetime, months: int) -> datetime:
    """The same day `months` later, or that month's last day when it is shorter."""
    if not months:
        return at
    year, month = divmod(at.month - 1 + months, 12)
    last_day = calendar.monthrange(at.year + year, month + 1)[1]
    return at.replace(year=at.year + year, month=month + 1, day=min(at.day, last_day))


def _json_any(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise ValueError("the body is not JSON") from None


def _json_object(body: bytes) -> dict[str, Any]:
    document = _json_any(body)
    if not isinstance(document, dict):
        raise ValueError("the body must be a JSON object")
    return document
