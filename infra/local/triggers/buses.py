"""EventBridge buses (`EventBridgeRule` events on a bus of the template)."""

from __future__ import annotations

import threading
from typing import Any

from crm_core import clock
from infra.local import events
from infra.local.runtime import Runtime
from infra.local.triggers.lookup import NotFoundError
from infra.template import Template


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge's pattern matching for what our templates use: each key's list of allowed values,
    nested objects for `detail`."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(matches(v, event.get(k)) for k, v in pattern.items())
    if isinstance(pattern, list):
        return event in pattern or (isinstance(event, list) and any(e in pattern for e in event))
    return bool(pattern == event)


DEFAULT = "default"  # the account's default bus: AWS services' events (SES feedback) arrive there


class Buses:
    """EventBridge buses: events put on a bus (by a function through PutEvents, or on
    `POST /_local/buses/{LogicalId}`) are delivered to every function whose `EventBridgeRule` event on
    that bus matches, asynchronously (retries, then the on-failure destination), after the invocation
    that put them has finished, as on AWS. The template's buses and the default one (`default`), where
    SES's events of the template's configuration set arrive (`POST /_local/ses-events`)."""

    def __init__(self, template: Template, runtime: Runtime) -> None:
        self.template, self.runtime = template, runtime
        self.names = {template.physical_name(b): b for b, _ in template.of_type("AWS::Events::EventBus")}
        self.names[DEFAULT] = DEFAULT
        self.subscribers: dict[str, list[tuple[str, dict[str, Any]]]] = {b: [] for b in self.names.values()}
        for function_id, function in template.functions().items():
            for event in function.events.values():
                if event.get("Type") != "EventBridgeRule":
                    continue
                props = event.get("Properties") or {}
                bus = self.names.get(str(template.resolve(props.get("EventBusName", "default"))))
                if bus is not None:
                    self.subscribers[bus].append((function_id, template.resolve(props.get("Pattern") or {})))
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "logical_id": b,
                "name": DEFAULT if b == DEFAULT else self.template.physical_name(b),
                "subscribers": [f for f, _ in s],
            }
            for b, s in self.subscribers.items()
            if b != DEFAULT or s  # the default bus is listed when a rule of the template listens on it
        ]

    def listen(self, session: Any) -> None:
        """Catch PutEvents of every client made from `session` (the functions' boto3 default one)."""
        session.events.register("before-parameter-build.events.PutEvents", self._captured)

    def _captured(self, params: dict[str, Any], **_: Any) -> None:
        for entry in params.get("Entries") or []:
            bus = self.names.get(str(entry.get("EventBusName", "default")).rpartition("/")[2])
            if bus is not None:
                with self._lock:
                    self.pending.append((bus, entry))

    def flush(self) -> list[dict[str, Any]]:
        """Deliver what functions put on buses since the last flush (called after each invocation)."""
        with self._lock:
            batch, self.pending = self.pending, []
        return [delivery for bus, entry in batch for delivery in self.deliver(bus, entry)]

    def put(self, logical_id: str, entry: dict[str, Any]) -> dict[str, Any]:
        if logical_id not in self.subscribers:
            raise NotFoundError(
                f"no event bus {logical_id} in the template (buses: {sorted(self.subscribers)})"
            )
        return {"bus": logical_id, "deliveries": self.deliver(logical_id, entry)}

    def ses_event(self, record: dict[str, Any]) -> dict[str, Any]:
        """Deliver one SES event record (as SES publishes it) the way SES does: on the default bus, as
        an event of the configuration set that the template sends it to EventBridge from.
        Raises NotFoundError when no configuration set of the template does, ValueError for a record
        that is not an SES event."""
        sets = [
            str(self.template.resolve(resource["Properties"]["ConfigurationSetName"]))
            for _, resource in self.template.of_type("AWS::SES::ConfigurationSetEventDestination")
            if "EventBridgeDestination" in resource["Properties"].get("EventDestination", {})
        ]
        if not sets:
            raise NotFoundError(
                "no SES configuration set of the template publishes its events to EventBridge"
            )
        event = events.ses_event(
            record, configuration_set=sets[0], at=clock.now(), region=self.template.region
        )
        return {"bus": DEFAULT, "id": event["id"], "deliveries": self.deliver_event(DEFAULT, event)}

    def deliver(self, logical_id: str, entry: dict[str, Any]) -> list[dict[str, Any]]:
        return self.deliver_event(
            logical_id, events.bus_event(entry, at=clock.now(), region=self.template.region)
        )

    def deliver_event(self, logical_id: str, event: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            self.runtime.invoke_async(function, event).as_dict()
            for function, pattern in self.subscribers[logical_id]
            if matches(pattern, event)
        ]
