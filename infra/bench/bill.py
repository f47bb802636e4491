"""The monthly AWS bill of the reference business, from counted calls, measured sizes and durations.

Volumes are per month. What the issue fixes: 10,000 contacts; 20,000 emails, 2,000 orders, 500
complaint emails and 1,000 survey answers. What it does not fix is an assumption written here,
beside its figure, and repeated in docs/benchmarks.md. Prices come from infra/bench/prices.json.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.bench.operations import Scenario
from infra.bench.wire import Tally

PRICES = Path(__file__).with_name("prices.json")
MINUTES = 30 * 24 * 60
HOURS = 730  # CloudWatch's month: custom metrics are prorated by the hour
LAMBDA_PLATFORM_LOG_BYTES = 330  # START, END and REPORT lines Lambda writes per invocation


@dataclass(frozen=True)
class Business:
    contacts: int = 10_000
    emails: int = 20_000
    orders: int = 2_000
    complaint_emails: int = 500
    survey_answers: int = 1_000

    def scaled(self, factor: int) -> Business:
        return Business(
            *(
                factor * v
                for v in (self.contacts, self.emails, self.orders, self.complaint_emails, self.survey_answers)
            )
        )

    def volumes(self) -> dict[str, float]:
        """Operations a month. Assumptions: a tenth of the base is new leads each month, a fifth of
        those post again with new details and a tenth twice the same; every contact has a birthday
        on file (12 greetings a year per 12 contacts); 60% of complaint emails open a case, 40% are
        replies; a tenth of orders are a customer's first (a fifth of the month's new leads buy), the
        rest repeat purchases; 5% of orders are refunded and a tenth of orders redeem; every purchase's lot
        expires unused a year later (an upper bound); 1% of emails are unsubscribed, 1% bounce; staff
        open a contact 360 once per complaint email and for a tenth of orders."""
        greetings = self.contacts / 12
        cases = 0.6 * self.complaint_emails
        return {
            "new lead": 0.1 * self.contacts,
            "merge (second post, new details)": 0.02 * self.contacts,
            "replay (same post again)": 0.01 * self.contacts,
            "follow-up step sent": self.emails - greetings - cases,
            "occasion greeting": greetings,
            "inbound email to a new case": cases,
            "threaded reply": 0.4 * self.complaint_emails,
            "first purchase (new customer)": 0.1 * self.orders,
            "repeat purchase": 0.9 * self.orders,
            "refund": 0.05 * self.orders,
            "redemption (POST)": 0.1 * self.orders,
            "daily expiry, one lot": self.orders,
            "unsubscribe (one-click POST)": 0.01 * self.emails,
            "bounce notification": 0.01 * self.emails,
            "survey answer (POST, score 4 of 5)": self.survey_answers,
            "contact 360 (GET /contacts/{id})": self.complaint_emails + 0.1 * self.orders,
        }


# Runs a month of each scheduled function, from template.yaml's schedules (rate(5 minutes) etc.).
SCHEDULED = {
    "follow-up run, nothing due": ("SendFollowupsFunction", MINUTES / 5),
    "occasion run, nothing due": ("SendOccasionsFunction", MINUTES / 60),
    "escalation run, nothing due": ("EscalateCasesFunction", MINUTES / 5),
    "expiry run, nothing due": ("ExpirePointsFunction", 30),
}
# An operation measured inside a run is billed as its run minus an empty run (the run itself is
# billed by its schedule above).
MARGINAL_OF = {
    "follow-up step sent": "follow-up run, nothing due",
    "occasion greeting": "occasion run, nothing due",
    "daily expiry, one lot": "expiry run, nothing due",
}


@dataclass
class Usage:
    """One month of usage: a few counters, each from a tally times its volume."""

    calls: Counter[str]
    rru: float = 0.0
    wru: float = 0.0
    invocations: Counter[str] | None = None
    gb_seconds: float = 0.0
    log_bytes: float = 0.0
    new_item_bytes: float = 0.0

    def add(
        self,
        tally: Tally,
        volume: float,
        memory: dict[str, int],
        sign: float = 1.0,
        count_invocations: bool = True,
    ) -> None:
        assert self.invocations is not None
        for name, n in tally.by_operation().items():
            self.calls[name] += sign * n * volume  # type: ignore[assignment] # volumes scale counts to floats
        self.rru += sign * tally.read_units * volume
        self.wru += sign * tally.write_units * volume
        for function, durations in tally.duration_ms.items():
            self.gb_seconds += sign * volume * sum(durations) / 1000 * memory.get(function, 256) / 1024
            if count_invocations:
                self.invocations[function] += volume * len(durations)  # type: ignore[assignment] # float volumes, as above
        self.log_bytes += sign * volume * sum(tally.log_bytes.values())
        if count_invocations:
            self.log_bytes += (
                volume * LAMBDA_PLATFORM_LOG_BYTES * sum(len(d) for d in tally.duration_ms.values())
            )
        self.new_item_bytes += sign * volume * sum(sum(sizes) for sizes in tally.item_bytes.values())


@dataclass(frozen=True)
class Line:
    service: str
    item: str
    quantity: str
    dollars: float
    in_goal: bool = True  # SES's per-message prices are shown apart from the goal


def usage_of(scenario: Scenario, business: Business) -> Usage:
    usage = Usage(calls=Counter(), invocations=Counter())
    volumes = business.volumes()
    for name, (_, runs) in SCHEDULED.items():
        usage.add(scenario.of(name).tally, runs, scenario.memory_mb)
    for name, volume in volumes.items():
        measured = next((m for m in scenario.measured if m.operation.name == name), None)
        if measured is None:
            continue
        if name in MARGINAL_OF:
            usage.add(measured.tally, volume, scenario.memory_mb, count_invocations=False)
            usage.add(
                scenario.of(MARGINAL_OF[name]).tally,
                volume,
                scenario.memory_mb,
                sign=-1.0,
                count_invocations=False,
            )
            usage.log_bytes += volume * 200  # the step's own log lines, beyond an empty run's (approx.)
        else:
            usage.add(measured.tally, volume, scenario.memory_mb)
    return usage


@dataclass(frozen=True)
class _Month:
    """What every section of the bill reads."""

    scenario: Scenario
    business: Business
    prices: dict[str, Any]
    usage: Usage
    init_seconds: dict[str, float]

    @property
    def template(self) -> Any:
        assert self.scenario.template is not None
        return self.scenario.template

    @property
    def volumes(self) -> dict[str, float]:
        return self.business.volumes()

    @property
    def cold(self) -> dict[str, float]:
        """Cold starts per function: at most one per 10 minutes."""
        assert self.usage.invocations is not None
        return {f: min(n, MINUTES / 10) for f, n in self.usage.invocations.items()}

    @property
    def requests(self) -> float:
        assert self.usage.invocations is not None
        return sum(self.usage.invocations.values())

    @property
    def inbound(self) -> float:
        return self.volumes["inbound email to a new case"] + self.volumes["threaded reply"]

    @property
    def publishes(self) -> float:
        """SNS publishes the functions make (SLA alerts); SES feedback goes through EventBridge (free)."""
        return float(self.usage.calls["sns:Publish"])

    @property
    def queued(self) -> float:
        """Messages on the stack's queues: order events, and what the functions send (privacy requests)."""
        return self.business.orders + self.volumes["refund"] + self.usage.calls["sqs:SendMessage"]


MAIL_KB = 50  # assumption: an average complaint email with a small attachment


def bill(scenario: Scenario, business: Business, init_seconds: dict[str, float]) -> list[Line]:
    """Every line of the month's bill for `business`, in bill order."""
    usage = usage_of(scenario, business)
    assert usage.invocations is not None and scenario.template is not None
    month = _Month(scenario, business, json.loads(PRICES.read_text()), usage, init_seconds)
    sections = (_dynamodb, _lambda, _requests, _keys, _cloudwatch, _ses)
    return [line for section in sections for line in section(month)]


def _dynamodb(m: _Month) -> list[Line]:
    """Request units, and a year of items stored with point-in-time recovery."""
    prices, usage = m.prices, m.usage
    lines: list[Line] = []

    ddb = prices["dynamodb"]
    lines.append(
        Line(
            "DynamoDB",
            "write request units",
            f"{usage.wru:,.0f} WRU",
            usage.wru / 1e6 * ddb["write_request_unit_per_million"],
        )
    )
    lines.append(
        Line(
            "DynamoDB",
            "read request units",
            f"{usage.rru:,.0f} RRU",
            usage.rru / 1e6 * ddb["read_request_unit_per_million"],
        )
    )
    lead = m.scenario.of("new lead").tally
    contact_bytes = sum(sum(v) for v in lead.item_bytes.values()) + 100 * len(lead.item_bytes)
    stored_gb = (m.business.contacts * contact_bytes + 12 * usage.new_item_bytes) / 1024**3
    lines.append(
        Line(
            "DynamoDB",
            "storage + point-in-time recovery (a year of items)",
            f"{stored_gb:.3f} GB",
            stored_gb * (ddb["storage_gb_month"] + ddb["pitr_gb_month"]),
        )
    )
    return lines


def _lambda(m: _Month) -> list[Line]:
    """Requests, measured durations and the init of cold starts."""
    prices, usage = m.prices, m.usage
    lines: list[Line] = []

    lam = prices["lambda"]
    cold, memory = m.cold, m.scenario.memory_mb
    init_gb_s = sum(cold[f] * m.init_seconds.get(f, 0.5) * memory.get(f, 256) / 1024 for f in cold)
    requests = m.requests
    lines.append(Line("Lambda", "requests", f"{requests:,.0f}", requests / 1e6 * lam["requests_per_million"]))
    lines.append(
        Line(
            "Lambda",
            "duration (arm64), measured per invocation",
            f"{usage.gb_seconds:,.0f} GB-s",
            usage.gb_seconds * lam["arm64_gb_second"],
        )
    )
    lines.append(
        Line(
            "Lambda",
            "init of cold starts (at most one per function per 10 min)",
            f"{init_gb_s:,.0f} GB-s",
            init_gb_s * lam["arm64_gb_second"],
        )
    )
    return lines


def _requests(m: _Month) -> list[Line]:
    """API Gateway, SQS (with the empty polls of event-source mappings), SNS, EventBridge and S3."""
    prices, usage, template = m.prices, m.usage, m.template
    lines: list[Line] = []

    assert usage.invocations is not None
    http = {
        logical_id
        for logical_id, function in template.functions().items()
        if any(event.get("Type") == "HttpApi" for event in function.events.values())
    }
    api_requests = (
        sum(n for f, n in usage.invocations.items() if f in http) + m.business.orders
    )  # + shop reads
    lines.append(
        Line(
            "API Gateway",
            "HTTP API requests (+ one balance read per order)",
            f"{api_requests:,.0f}",
            api_requests / 1e6 * prices["apigateway_http"]["requests_per_million"],
        )
    )

    sqs = prices["sqs"]
    sqs_requests = 3 * m.queued  # send + receive + delete per message
    pollers = sum(
        1 for f in template.functions().values() for e in f.events.values() if e.get("Type") == "SQS"
    )
    # Lambda long-polls an idle queue with five pollers (one 20 s poll each); it "can optimize to as
    # few as 2" only without ScalingConfig.MaximumConcurrency, which both mappings set to bound their
    # share of a small account's concurrency (Lambda developer guide, SQS scaling).
    polling = pollers * 5 * 3 * MINUTES
    lines.append(
        Line(
            "SQS",
            "messages: send + receive + delete",
            f"{sqs_requests:,.0f} requests",
            sqs_requests / 1e6 * sqs["standard_requests_per_million"],
        )
    )
    lines.append(
        Line(
            "SQS",
            f"empty long polls of {pollers} event-source mappings",
            f"{polling:,.0f} requests",
            polling / 1e6 * sqs["standard_requests_per_million"],
        )
    )

    inbound, publishes = m.inbound, m.publishes
    lines.append(
        Line(
            "SNS",
            "publishes counted (SLA alerts); SES feedback comes through EventBridge, free",
            f"{publishes:,.0f}",
            publishes / 1e6 * prices["sns"]["publishes_per_million"],
        )
    )

    bus_events = usage.calls["events:PutEvents"]  # one entry per call: the CRM's own events
    lines.append(
        Line(
            "EventBridge",
            "custom events on CrmEventBus; SES's events on the default bus are free",
            f"{bus_events:,.0f}",
            bus_events / 1e6 * prices["eventbridge"]["custom_events_per_million"],
        )
    )

    s3 = prices["s3"]
    mail_kb = MAIL_KB
    s3_dollars = (
        inbound * s3["put_per_thousand"] + usage.calls["s3:GetObject"] * s3["get_per_thousand"]
    ) / 1000
    s3_dollars += inbound * 3 * mail_kb / 1024**2 * s3["storage_gb_month"]  # kept ~90 days
    lines.append(
        Line(
            "S3",
            f"inbound mail: SES puts, function gets, {mail_kb} KB each kept 90 days",
            f"{inbound:,.0f} mails",
            s3_dollars,
        )
    )
    return lines


def _keys(m: _Month) -> list[Line]:
    """Secrets Manager and KMS: monthly per secret and key, plus requests."""
    prices, usage, template = m.prices, m.usage, m.template
    lines: list[Line] = []

    sm = prices["secretsmanager"]
    secrets = sum(1 for _ in template.of_type("AWS::SecretsManager::Secret"))
    fetches = min(usage.calls["secretsmanager:GetSecretValue"], sum(m.cold.values()))  # cached per container
    lines.append(
        Line(
            "Secrets Manager",
            f"{secrets} secret(s) + one fetch per cold start",
            f"{fetches:,.0f} calls",
            secrets * sm["secret_month"] + fetches / 1e4 * sm["api_calls_per_10k"],
        )
    )

    kms = prices["kms"]
    keys = sum(1 for _ in template.of_type("AWS::KMS::Key"))
    # Queues and the alerts topic use AWS managed keys (no monthly fee); their requests are billed. An
    # upper bound: a data key per message sent or published and a decrypt per message received (SQS
    # and SNS reuse a data key for up to 5 minutes).
    kms_requests = 2 * (m.queued + m.publishes)
    lines.append(
        Line(
            "KMS",
            f"{keys} customer managed key(s) + requests to AWS managed keys",
            f"{kms_requests:,.0f} requests",
            keys * kms["customer_managed_key_month"] + kms_requests / 1e4 * kms["requests_per_10k"],
        )
    )
    return lines


def _cloudwatch(m: _Month) -> list[Line]:
    """Custom metrics, alarms, log ingestion, and X-Ray traces."""
    prices, usage, template = m.prices, m.usage, m.template
    lines: list[Line] = []

    cw = prices["cloudwatch"]
    hours = metric_hours(m.scenario, m.business)
    metric_months = sum(hours.values()) / HOURS
    names = sorted({name for _, name, _ in hours})
    lines.append(
        Line(
            "CloudWatch",
            f"custom metrics: {len(hours)} (name x dimension set, from EMF; "
            f"{len(names)} names), prorated by the hours they receive data",
            f"{metric_months:.1f} metric-months",
            metric_months * cw["custom_metric_month"],
        )
    )
    alarms = sum(1 for _ in template.of_type("AWS::CloudWatch::Alarm"))
    lines.append(
        Line(
            "CloudWatch",
            "alarms (standard resolution)",
            f"{alarms}",
            alarms * cw["standard_alarm_metric_month"],
        )
    )
    log_gb = usage.log_bytes / 1024**3
    lines.append(
        Line(
            "CloudWatch",
            "log ingestion (measured bytes at INFO) + 90 days' storage",
            f"{log_gb:.3f} GB",
            log_gb * (cw["log_ingestion_gb"] + 3 * cw["log_storage_gb_month"]),
        )
    )

    tracing = template.body.get("Globals", {}).get("Function", {}).get("Tracing") == "Active"
    if tracing:
        lines.append(
            Line(
                "X-Ray",
                "traces (Tracing: Active; every invocation at this rate)",
                f"{m.requests:,.0f}",
                m.requests / 1e6 * prices["xray"]["traces_recorded_per_million"],
            )
        )
    return lines


def _ses(m: _Month) -> list[Line]:
    """SES receiving and sending, shown apart from the goal."""
    prices = m.prices
    lines: list[Line] = []

    ses = prices["ses"]
    chunks = m.inbound * math.ceil(MAIL_KB / ses["inbound_chunk_kb"])
    lines.append(
        Line(
            "SES",
            "receiving: per message + per 256 KB chunk",
            f"{m.inbound:,.0f} mails",
            (m.inbound * ses["inbound_per_thousand"] + chunks * ses["inbound_chunk_per_thousand"]) / 1000,
            in_goal=False,
        )
    )
    lines.append(
        Line(
            "SES",
            "sending: per message",
            f"{m.business.emails:,.0f} mails",
            m.business.emails * ses["outbound_per_thousand"] / 1000,
            in_goal=False,
        )
    )
    return lines


def _hours_possible(operation: str) -> float:
    """The hours of the month in which an operation can happen: every hour, or those of its schedule's
    runs (a lot expires only in the daily run's hour; a run every 5 minutes touches every hour)."""
    schedule = operation if operation in SCHEDULED else MARGINAL_OF.get(operation)
    return HOURS if schedule is None else min(SCHEDULED[schedule][1], HOURS)


def metric_hours(
    scenario: Scenario, business: Business
) -> dict[tuple[str, str, tuple[tuple[str, str], ...]], float]:
    """The hours of the month in which each metric (name + dimension set) receives data, which is what
    CloudWatch bills (prorated by the hour). A scheduled run that emits a metric gives it data in every
    hour it runs; n data points of other operations, spread at random over the H hours the operation
    can happen in, reach H x (1 - e^(-n/H)) of them. Operations are independent: an hour is quiet
    for a metric only if it is quiet for each operation emitting it."""
    runs = {name: n for name, (_, n) in SCHEDULED.items()}
    volumes = {**business.volumes(), **runs}
    quiet: dict[tuple[str, str, tuple[tuple[str, str], ...]], float] = {}
    for measured in scenario.measured:
        name = measured.operation.name
        possible = _hours_possible(name)
        for metric, n in measured.tally.metrics.items():
            points = n * volumes.get(name, 0)
            if points <= 0:
                continue
            reached = 1.0 if name in SCHEDULED else 1 - math.exp(-points / possible)
            quiet[metric] = quiet.get(metric, 1.0) * (1 - possible / HOURS * reached)
    return {metric: HOURS * (1 - q) for metric, q in quiet.items()}


def describe_prices() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PRICES.read_text())
    return data
