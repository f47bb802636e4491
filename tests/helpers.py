"""Small test helpers: import a handler by file path, build real-shaped API Gateway v2 events, read SES."""

from __future__ import annotations

import email
import functools
import importlib.util
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from unittest import mock
from urllib.parse import urlencode

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from crm_core import clock
from crm_core.contacts import identity
from crm_core.messaging import tokens
from infra.aws_rules.enforce import Deployment, acting_as
from infra.local import events
from infra.template import Template

if TYPE_CHECKING:
    from tests.conftest import Stack

ROOT = Path(__file__).resolve().parent.parent


@cache
def deployment() -> Deployment:
    """The template's functions and the roles SAM generates for them, as the tests' stack deploys it."""
    return Deployment(Template(), audit_only=os.environ.get("CRM_IAM_AUDIT") == "1")


@cache
def load_handler(function: str) -> ModuleType:
    """Import functions/<function>/app.py as its own module (each function is its own package on AWS).

    Its `lambda_handler` runs under the function's IAM role: every AWS call it makes is checked
    against the policies SAM generates from template.yaml, and a call AWS would deny raises
    AccessDenied here too (infra.aws_rules.enforce).
    """
    path = ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"handler_{function}", path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    logical_id = function_id(function)
    handler = module.lambda_handler

    @functools.wraps(handler)
    def under_its_role(event: Any, context: Any) -> Any:
        tokens.forget_key()  # as in a fresh instance: a key another function fetched would hide a denial
        identity.forget_identity_key()
        with acting_as(deployment(), logical_id):
            return handler(event, context)

    module.lambda_handler = under_its_role
    return module


def function_id(folder: str) -> str:
    """The template's logical id of the function whose code is functions/<folder>/."""
    for logical_id, function in Template().functions().items():
        if function.handler_path.parent.name == folder:
            return logical_id
    raise KeyError(f"no function of template.yaml has its code in functions/{folder}")


@dataclass(frozen=True)
class _RouteKey:
    key: str
    iam: bool


def http_event(
    method: str,
    path: str,
    *,
    body: bytes | str | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    base64_body: bool | None = None,
    query: str | dict[str, str] = "",
    route: str | None = None,
    iam: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, built by the local gateway's own builder.

    A dict body is sent as JSON. Bodies are base64-encoded by API Gateway's rule unless `base64_body`
    says otherwise. `route` is the template's route key when it has path parameters; `iam` adds the
    caller an IAM-authorized route sees.
    """
    if isinstance(query, dict):
        query = urlencode(query)
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if isinstance(body, dict):
        body = json.dumps(body, ensure_ascii=False)
        headers.setdefault("content-type", "application/json")
    raw = body.encode("utf-8") if isinstance(body, str) else body or b""
    headers.setdefault("user-agent", "Mozilla/5.0 (X11; Linux x86_64) tests")
    if body is not None:
        headers.setdefault("content-length", str(len(raw)))
    return events.http_event(
        _RouteKey(route or f"{method} {path}", iam),
        method=method,
        raw_path=path,
        raw_query=query,
        headers=list(headers.items()),
        body=raw,
        path_parameters={},
        source_ip="203.0.113.7",
        host=headers.get("host", "abc123.execute-api.eu-west-1.amazonaws.com"),
        at=clock.now(),
        base64_body=base64_body,
    )


@dataclass(frozen=True)
class Mail:
    """One message SES accepted, parsed as a person would read it."""

    ses_message_id: str
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]

    @property
    def unsubscribe_url(self) -> str:
        return self.headers["List-Unsubscribe"].strip("<>")


def parse_sent(sent: Any) -> Mail:
    """A moto SES RawMessage (`stack.sent_emails()` item) parsed into a Mail."""
    message = email.message_from_bytes(sent.raw_data.encode("utf-8"), policy=default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return Mail(
        ses_message_id=sent.id,
        to=str(message["To"]),
        subject=str(message["Subject"]),
        text=text.get_content() if text else "",
        html=html.get_content() if html else "",
        headers={k: str(v) for k, v in message.items()},
    )


def outbox(stack: Stack) -> list[Mail]:
    """Every email SES (moto) accepted so far, parsed as the recipients would read it, oldest first."""
    return [parse_sent(sent) for sent in stack.sent_emails()]


def index_shape(indexes: list[dict[str, Any]] | None) -> dict[str, tuple[Any, ...]]:
    """Global secondary indexes by name: their key schema and projection, to compare two tables."""
    return {
        ix["IndexName"]: (
            tuple((k["AttributeName"], k["KeyType"]) for k in ix["KeySchema"]),
            ix["Projection"]["ProjectionType"],
        )
        for ix in indexes or []
    }


@dataclass
class DynamoDBCalls:
    """DynamoDB requests seen by `dynamodb_calls` (any client, boto3's or pynamodb's), oldest first."""

    made: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.made if name == operation]


@dataclass
class _Fault:
    operation: str
    code: str
    reasons: Sequence[str]
    left: int


@contextmanager
def dynamodb_calls(
    *faults: tuple[str, str] | tuple[str, str, Sequence[str]], times: int = 1
) -> Iterator[DynamoDBCalls]:
    """Record every DynamoDB request; each fault `(operation, error code[, cancellation reasons])`
    makes the next `times` calls of that operation fail as DynamoDB answers once the SDK's retries
    are spent (moto itself never throttles, and cancels a transaction only for a failed condition)."""
    seen = DynamoDBCalls()
    pending = [_Fault(f[0], f[1], f[2] if len(f) == 3 else (), times) for f in faults]  # type: ignore[misc]
    real = BaseClient._make_api_call

    def call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name != "dynamodb":
            return real(client, operation, params)
        seen.made.append((operation, params))
        for fault in pending:
            if fault.operation == operation and fault.left > 0:
                fault.left -= 1
                response: dict[str, Any] = {"Error": {"Code": fault.code, "Message": "injected by the test"}}
                if fault.reasons:
                    response["CancellationReasons"] = [{"Code": reason} for reason in fault.reasons]
                raise ClientError(response, operation)  # type: ignore[arg-type]
        return real(client, operation, params)

    with mock.patch.object(BaseClient, "_make_api_call", call):
        yield seen


def bus_listener(stack: Stack, name: str, detail_types: list[str]) -> str:
    """A queue subscribed to `detail_types` on the CRM's EventBridge bus, as another system (or the
    lifecycle function's rule) would be; read it with `bus_received`."""
    import boto3

    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack.env["EVENT_BUS_NAME"]
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"detail-type": detail_types}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


def bus_received(url: str) -> list[dict[str, Any]]:
    """The whole events (source, detail-type, detail) a `bus_listener` queue received, emptied."""
    import boto3

    sqs, found = boto3.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def scheduled(rule: str, at: str = "2026-11-23T10:00:00Z") -> dict[str, Any]:
    """The Scheduled Event an EventBridge rule of the stack (`crm-<rule>`) delivers at `at`, built as the
    local stack builds it."""
    return events.scheduled_event(
        at=clock.parse_instant(at),
        region="eu-west-1",
        resource_arn=f"arn:aws:events:eu-west-1:123456789012:rule/crm-{rule}",
        scheduler=False,
    )
