"""Every business operation played once through the local stack, counted on the wire.

The local stack runs each function in this process under its IAM role (`acting_as`), so the
`Wire` hook sees exactly the calls each function makes. The first event each function handled
successfully is kept: the cold-start bench replays it in a fresh process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from crm_core import clock
from infra.bench.wire import Tally, Wire
from infra.mail import find_key, message
from infra.template import Template

LEAD = "bench.lead@example.com"
BUYER = "bench.buyer@example.com"
CUSTOMER = "bench.customer@example.com"
SENDER = f"Bench Customer <{CUSTOMER}>"
SUPPORT = "support@example.com"
SURVEY_PATH = "/surveys/answer"
SURVEY_LINK = re.compile(r"https?://\S+/surveys/answer\?\S+")


@dataclass(frozen=True)
class Operation:
    name: str
    minimum: int | None  # the fewest AWS calls the data model allows; None: not judged
    why: str  # what the minimum is made of, and why the measured figure is above it if it is


# The minimum is what the data model needs (keys, shards, the once-only claims of DESIGN); `why`
# names the calls and, where the measured count is above the minimum, why.
OPERATIONS = [
    Operation(
        "new lead",
        2,
        "suppression GetItem (a consent must not override an unsubscribe) + one TransactWriteItems "
        "(contact + welcome enrollment); +4: the erased-address check (GetItem of the keyed hash an "
        "erasure leaves, so an erased person is never mailed or re-identified) and the keys it and the id "
        "need (signing key current and previous, identity key: 3 GetSecretValue once per container; each "
        "operation here runs in a cold one)",
    ),
    Operation(
        "merge (second post, new details)",
        3,
        "suppression GetItem + the contact transaction, cancelled by its condition (it returns the stored "
        "contact: no read) + one conditional UpdateItem; +4: the erased-address check and its keys, as a "
        "new lead",
    ),
    Operation(
        "replay (same post again)",
        2,
        "suppression GetItem + the cancelled transaction; nothing written; +4: the erased-address check and "
        "its keys, as a new lead",
    ),
    Operation(
        "follow-up run, nothing due",
        8,
        "one Query per shard of the due index (8 shards spread a campaign's burst); +1: the SES quota "
        "(GetSendQuota, free) is read once per run for pacing",
    ),
    Operation(
        "follow-up step sent",
        14,
        "the run's 8 Queries + contact and suppression GetItem + ledger claim (PutItem) + SendEmail + "
        "record the SES id + advance the enrollment (2 UpdateItem); +1: GetSendQuota once per run; +3: the "
        "erased-address check (GetItem) and the signing key's two versions it needs (once per container)",
    ),
    Operation(
        "occasion run, nothing due",
        16,
        "2 kinds x 2 local dates an hour spans x 4 shards = 16 Queries; +2 BatchGetItem: the contact "
        "found here was already greeted (contacts, then ledger claims, by key)",
    ),
    Operation(
        "occasion greeting",
        25,
        "the run (16 Queries + 3 BatchGetItem) + suppression and account GetItem + bonus transaction + "
        "claim + SendEmail + record; +2: the token key (once per container) and GetSendQuota (once per run)",
    ),
    Operation(
        "inbound email to a new case",
        6,
        "S3 GetObject + case/event transaction + ack claim + SendEmail + record + SLA queue message; the "
        "rest are key lookups of the customer's contact, value flag, thread and language (see below)",
    ),
    Operation(
        "threaded reply",
        3,
        "S3 GetObject + the thread lookup + event put and case update (one transaction); the rest: the "
        "duplicate check by Message-ID, the SLA queue message, the signing key, and the link and case "
        "each read twice (intake, then threading): 2 calls that could go",
    ),
    Operation("escalation run, nothing due", 4, "one Query per shard of the sla-due index (4 shards)"),
    Operation(
        "first purchase (new customer)",
        2,
        "account + contact (one BatchGetItem) + one TransactWriteItems (entry, balance, lot, contact); as a "
        "repeat purchase (below), plus the buyer becoming a customer: the lifecycle stage and the value flag "
        "(a GetItem and a conditional UpdateItem each), the lifecycle event (PutEvents), and the value "
        "sketch's first item (PutItem, once per deployment)",
    ),
    Operation(
        "repeat purchase",
        2,
        "account + contact (one BatchGetItem) + one TransactWriteItems (entry, balance, lot, contact); +1 "
        "the event-id claim (PutItem: a shop's retry finds it), +2 the thank-you enrollment (PutItem) and "
        "the win-back rescheduled (Query), +1 the buyer's owner (GetItem), +2 the customer-value record "
        "(sketch GetItem, TransactWriteItems), +1 the identity key (once per container); the contact is "
        "read three times (owner, lifecycle, value): 2 GetItem that could go",
    ),
    Operation(
        "refund",
        2,
        "account + contact (BatchGetItem) + one TransactWriteItems; +1 the event-id claim, +2 the "
        "customer-value record lowered (sketch GetItem, TransactWriteItems), +1 the identity key (once per "
        "container); the contact is read twice more (value flag): 2 GetItem that could go",
    ),
    Operation("redemption (POST)", 2, "read the account (BatchGetItem) + one conditional TransactWriteItems"),
    Operation(
        "expiry run, nothing due",
        12,
        "expiring lots, lots a reminder ahead, tier reviews: 3 indexes x 4 shards; x4: each also reads the "
        "3 days before (LOYALTY_CATCH_UP_DAYS) so a missed daily run is caught up by the next",
    ),
    Operation(
        "daily expiry, one lot",
        14,
        "the run's Queries + read the account (BatchGetItem) + one TransactWriteItems for the lot",
    ),
    Operation(
        "unsubscribe (one-click POST)",
        6,
        "the signing key (GetSecretValue, once per container) + the contact (GetItem) + its enrollments "
        "(Query) + UpdateItem of the suppression, of the contact's consent and of each active enrollment "
        "stopped (one here)",
    ),
    Operation(
        "bounce notification",
        1,
        "one conditional write of the suppression; +4: the erased-address check (an erased person's address "
        "is never written back) and its keys, as a new lead",
    ),
    Operation(
        "survey answer (POST, score 4 of 5)",
        4,
        "the answer so far (GetItem: the transaction is conditional on its revision) + the invitation "
        "(GetItem: its day and groups key the counters) + one TransactWriteItems (answer, history, a counter "
        "per group) + PutEvents (crm.survey.answered); +2 the link's signing and identity keys (once per "
        "container), +1 the alias check (a contact re-keyed since the link went out), +1 the contact (its "
        "language; gone if erased since), +2 the lifecycle reacting to the event (contact read and updated)",
    ),
    Operation(
        "contact 360 (GET /contacts/{id})",
        7,
        "contact + balance (one BatchGetItem), then the suppression (GetItem) and 5 Queries: enrollments, "
        "messages, cases, ledger entries, owner and timeline; +1 Query per case shown (its last event)",
    ),
    Operation(
        "survey results (GET)",
        1,
        "one Query of the survey's partition for the grouping: one counter item per day and group",
    ),
    Operation("lifecycle (GET)", 1, "the contact (GetItem): stage, history and value are on its item"),
    Operation(
        "export request (POST)",
        3,
        "the contact (GetItem: an unknown one is a 404) + the request claimed by its Idempotency-Key "
        "(conditional PutItem) + queued (SendMessage); +1 the signing key of the status and download links "
        "(once per container), +2 the request read before the claim (a retried POST answers from it) and "
        "again after it: one could go",
    ),
    Operation(
        "export run",
        None,
        "one lookup per store by the person's keys and indexes, one archive to S3, the request's status "
        "twice (running, done): grows with what is stored about the person. The cases index and the "
        "acknowledgement-rate item are read twice (once per part of the archive): 2 calls that could go",
    ),
    Operation(
        "owner digest run, two mornings, nothing to tell",
        8,
        "per owner whose local hour is 08:00 (two here): the ledger's claim of the day (GetItem), the "
        "owner's contacts and open tasks (2 Queries), the day marked skipped (PutItem)",
    ),
]


@dataclass
class Measured:
    operation: Operation
    tally: Tally
    note: str = ""


@dataclass
class Scenario:
    """What the whole story measured: per operation, and the first event each function handled."""

    measured: list[Measured] = field(default_factory=list)
    events: dict[str, Any] = field(default_factory=dict)
    instants: dict[str, str] = field(default_factory=dict)  # the local stack's time when each was handled
    memory_mb: dict[str, int] = field(default_factory=dict)
    template: Template | None = None

    def of(self, name: str) -> Measured:
        return next(m for m in self.measured if m.operation.name == name)


def play(while_up: Callable[[Any, Scenario], None] | None = None) -> Scenario:
    """Start a local stack with the wire counted, play every operation once, then call `while_up`
    (stack, scenario) before the stack (and moto's state) goes."""
    import boto3

    from infra.local.client import LocalClient
    from infra.local.motoserver import MotoServer
    from infra.local.runtime import Runtime
    from infra.local.stack import LocalStack

    template = Template()
    moto_url = MotoServer.shared().url
    sizer = boto3.session.Session(region_name=template.region).client(
        "dynamodb",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
    )
    wire = Wire(template, sizer)
    wire.install()
    scenario = Scenario(template=template)
    original = Runtime.invoke

    def invoke(runtime: Runtime, logical_id: str, event: Any, request_id: str | None = None) -> Any:
        invocation = original(runtime, logical_id, event, request_id)
        wire.invoked(logical_id, invocation.duration_ms)
        if invocation.ok and logical_id not in scenario.events:
            scenario.events[logical_id] = event
            scenario.instants[logical_id] = clock.iso(clock.now(), milliseconds=True)
        scenario.memory_mb[logical_id] = int(runtime.setting(logical_id, "MemorySize"))
        return invocation

    Runtime.invoke = invoke  # type: ignore[method-assign,assignment]
    try:
        with LocalStack(template, port=0, log_requests=False, log=lambda _: None) as stack:
            _story(LocalClient(stack.url), wire, scenario)
            if while_up is not None:
                while_up(stack, scenario)
    finally:
        Runtime.invoke = original  # type: ignore[method-assign]
    return scenario


Measure = Callable[[str, Callable[[], object]], Any]


def _story(local: Any, wire: Wire, scenario: Scenario) -> None:
    """Play every operation once, in the order a business would live them, measuring each."""

    def measure(name: str, action: Callable[[], object]) -> Any:
        operation = next(o for o in OPERATIONS if o.name == name)
        with wire.measure() as tally:
            result = action()
        scenario.measured.append(Measured(operation, tally, ""))
        return result

    for chapter in (_leads, _occasions, _complaints, _orders, _surveys, _expiry, _contacts, _opting_out):
        chapter(local, measure)


def _leads(local: Any, measure: Measure) -> None:
    lead = {"email": LEAD, "first_name": "Ana", "locale": "en", "time_zone": "Europe/Rome",
            "consent": True, "form_id": "bench", "birthday": "1990-05-17"}  # fmt: skip
    local.set_clock("2027-03-01T08:30:00Z")
    created = measure("new lead", lambda: local.post("/leads", json=lead))
    assert created.status == 201, created.text
    changed = {**lead, "first_name": "Ana Maria", "phone": "+39 333 123 4567"}
    merged = measure("merge (second post, new details)", lambda: local.post("/leads", json=changed))
    assert merged.status == 200, merged.text
    measure("replay (same post again)", lambda: local.post("/leads", json=changed))

    sent = measure("follow-up step sent", lambda: _run(local, "SendFollowupsFunction"))
    measure("follow-up run, nothing due", lambda: _run(local, "SendFollowupsFunction"))
    tips = [m for m in local.outbox() if LEAD in str(m.get("to"))]
    assert tips, f"the follow-up run sent nothing: {sent}"


def _occasions(local: Any, measure: Measure) -> None:
    local.set_clock("2027-05-17T07:05:00Z")  # 09:05 in Rome on her birthday
    measure("occasion greeting", lambda: _run(local, "SendOccasionsFunction"))
    measure("occasion run, nothing due", lambda: _run(local, "SendOccasionsFunction"))


def _complaints(local: Any, measure: Measure) -> None:
    local.set_clock("2027-05-18T08:00:00Z")
    text = "My parcel has not arrived. Can you help?"
    complaint = message(SENDER, SUPPORT, "Parcel not arrived - order A-1", text)
    received = measure("inbound email to a new case", lambda: local.deliver_email(complaint))
    case_id = find_key(received, "case_id")
    assert case_id, received
    ack = next(m for m in local.outbox() if f"#{case_id}" in str(m.get("subject")))
    reply_to = _header(ack, "Reply-To")
    reply = message(SENDER, reply_to, f"Re: {ack['subject']}", "The tracking number is 1Z999.")
    measure("threaded reply", lambda: local.deliver_email(reply))
    assert local.get(f"/cases/{case_id}").status == 200
    measure("escalation run, nothing due", lambda: _run(local, "EscalateCasesFunction"))


def _orders(local: Any, measure: Measure) -> None:
    local.set_clock("2026-11-23T10:00:00Z")
    order = {"email": BUYER, "currency": "EUR", "occurred_at": "2026-11-23T09:15:00Z"}
    buy = {**order, "event_id": "evt-b1", "type": "purchase", "order_id": "B-1", "amount": "120.00"}
    measure("first purchase (new customer)", lambda: local.send_to_queue("OrdersQueue", buy))
    back = {**order, "event_id": "evt-b2", "type": "refund", "order_id": "B-1", "refund_id": "R-1",
            "amount": "20.00"}  # fmt: skip
    measure("refund", lambda: local.send_to_queue("OrdersQueue", back))
    from crm_core.models.contacts import contact_id_for

    base = f"/contacts/{contact_id_for(BUYER)}/loyalty"
    redeem = measure(
        "redemption (POST)",
        lambda: local.post(f"{base}/redemptions", json={"points": 10}, headers={"Idempotency-Key": "b-1"}),
    )
    assert redeem.status == 201, redeem.text
    assert local.get(base).status == 200
    local.set_clock("2026-11-23T16:00:00Z")
    again = {**order, "event_id": "evt-b3", "type": "purchase", "order_id": "B-2", "amount": "45.00",
             "occurred_at": "2026-11-23T15:40:00Z"}  # fmt: skip
    measure("repeat purchase", lambda: local.send_to_queue("OrdersQueue", again))


def _surveys(local: Any, measure: Measure) -> None:
    """The purchase's survey email on day 5 (the follow-up schedule, played once a day), then an answer."""
    for day in range(24, 29):
        local.set_clock(f"2026-11-{day}T10:00:00Z")
        _run(local, "SendFollowupsFunction")
    surveys = [m for m in local.outbox() if BUYER in str(m.get("to")) and SURVEY_PATH in str(m.get("text"))]
    assert surveys, "the purchase's survey email did not go out"
    link = unescape(next(u for u in SURVEY_LINK.findall(str(surveys[-1]["text"]))))
    token = dict(parse_qsl(urlsplit(link).query))["token"]
    answered = measure(
        "survey answer (POST, score 4 of 5)",
        lambda: local.post(SURVEY_PATH, params={"token": token}, data={"score": "4", "comment": "Quick."}),
    )
    assert answered.status == 200, answered.text
    results = measure(
        "survey results (GET)",
        lambda: local.get("/surveys/results", params={"survey": "after-purchase", "from": "2026-11-01"}),
    )
    assert results.status == 200 and results.json()["answered"] >= 1, results.text


def _expiry(local: Any, measure: Measure) -> None:
    local.set_clock("2027-01-10T02:30:00Z")
    measure("expiry run, nothing due", lambda: _run(local, "ExpirePointsFunction"))
    local.set_clock("2027-11-23T02:30:00Z")
    measure("daily expiry, one lot", lambda: _run(local, "ExpirePointsFunction"))


def _contacts(local: Any, measure: Measure) -> None:
    """What staff tools read and ask for: the 360, the lifecycle, an export; the owners' morning digest."""
    from crm_core.models.contacts import contact_id_for

    contact = f"/contacts/{contact_id_for(BUYER)}"
    view = measure("contact 360 (GET /contacts/{id})", lambda: local.get(contact))
    assert view.status == 200 and view.json()["loyalty"], view.text
    stage = measure("lifecycle (GET)", lambda: local.get(f"{contact}/lifecycle"))
    assert stage.status == 200, stage.text
    asked = measure(
        "export request (POST)",
        lambda: local.post(f"{contact}/export", headers={"Idempotency-Key": "bench-export-1"}),
    )
    assert asked.status == 202, asked.text
    measure("export run", lambda: local.drain_queue("PrivacyQueue"))
    assert local.get(asked.json()["status_url"]).json()["status"] == "done"
    local.set_clock("2027-11-24T07:00:00Z")  # 08:00 in Rome and Berlin, where two owners work
    measure(
        "owner digest run, two mornings, nothing to tell", lambda: _run(local, "SendOwnerDigestsFunction")
    )


def _opting_out(local: Any, measure: Measure) -> None:
    marketing = [m for m in local.outbox() if LEAD in str(m.get("to")) and _unsubscribe_link(m)]
    link = _unsubscribe_link(marketing[-1]) if marketing else None
    if link:
        measure(
            "unsubscribe (one-click POST)", lambda: local.post(link, data={"List-Unsubscribe": "One-Click"})
        )
    bounce = {
        "eventType": "Bounce",
        "bounce": {"feedbackId": "bench-1", "bounceType": "Permanent", "bounceSubType": "General",
                   "bouncedRecipients": [{"emailAddress": BUYER, "status": "5.1.1", "action": "failed"}],
                   "timestamp": "2027-11-23T02:31:00Z"},
        "mail": {"messageId": "bench-message-1", "destination": [BUYER], "timestamp": "2027-11-23T02:30:00Z"},
    }  # fmt: skip
    measure("bounce notification", lambda: local.ses_event(bounce))


def _run(local: Any, function: str) -> dict[str, Any]:
    run: dict[str, Any] = local.run_schedule(function)
    assert run["status"] == "succeeded", run
    return run


def _header(message: dict[str, Any], name: str) -> str:
    headers = message.get("headers") or {}
    pairs = headers.items() if isinstance(headers, dict) else headers
    return next((str(v) for k, v in pairs if str(k).lower() == name.lower()), "")


def _unsubscribe_link(message: dict[str, Any]) -> str | None:
    link = _header(message, "List-Unsubscribe").strip("<>")
    return link[link.index("/unsubscribe") :] if "/unsubscribe" in link else None


if __name__ == "__main__":
    done = play()
    for m in done.measured:
        print(m.operation.name, len(m.tally.calls), m.operation.minimum, dict(m.tally.by_operation()),
              round(m.tally.read_units, 1), m.tally.write_units, dict(m.tally.log_bytes))  # fmt: skip
    print(sorted(done.events))
    print(
        json.dumps(sorted({"|".join([a, b, str(c)]) for m in done.measured for a, b, c in m.tally.metrics}))
    )
