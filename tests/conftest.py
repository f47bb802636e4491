"""Shared fixtures. AWS is moto: region and fake credentials are set before any boto3 session exists."""

from __future__ import annotations

import os

os.environ.update(
    AWS_DEFAULT_REGION="eu-west-1",
    AWS_REGION="eu-west-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    POWERTOOLS_SERVICE_NAME="crm-tests",
    POWERTOOLS_METRICS_NAMESPACE="CrmAutomation",
    POWERTOOLS_DEV="false",
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from moto import mock_aws

from crm_core import aws, clock
from crm_core.contacts import identity
from crm_core.messaging import tokens
from crm_core.models import reset_connections
from crm_core.settings import reset_settings
from infra.aws_rules import enforce
from infra.provision import provision
from infra.template import Template

if TYPE_CHECKING:
    import boto3

enforce.install()  # before any client exists: every call a handler makes is checked against its role

# Contact ids are keyed by the stack's identity secret. Ids computed at a test module's import, and in
# unit tests (tests/unit/conftest.py), are derived with this key; each `stack` stores it as its secret's
# value, so handlers read the key under their own IAM role, and the ids agree. A local stack (e2e) keeps
# its own random key, which its handlers, the tests and the `crm` subprocesses all read from its moto.
TEST_IDENTITY_KEY = "tests-identity-key-0123456789abcdef"
identity.use_identity_key(TEST_IDENTITY_KEY.encode())


@pytest.fixture(scope="session", autouse=True)
def _ids_from_the_stack_secret() -> Iterator[None]:
    """Collection (and the module-level ids it computed) is over: from here on ids come from a secret."""
    identity.use_identity_key(None)
    yield


@pytest.fixture(scope="session")
def template() -> Template:
    return Template()


def _reset() -> None:
    reset_settings()
    aws.reset_clients()
    reset_connections()
    tokens.forget_key()  # each stack generates its own signing secret, under the same name
    identity.forget_identity_key()  # and its own identity key


@cache
def _provision_session(region: str) -> boto3.Session:
    """One boto3 session for provisioning: a new one per test reloads every service model (~1 s)."""
    import boto3

    return boto3.Session(region_name=region)


@dataclass
class Stack:
    """The template's resources created in moto, with the names the functions see."""

    template: Template
    env: dict[str, str]

    def sent_emails(self) -> list[Any]:
        """Every message moto's SES accepted, oldest first."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        return list(ses_backends[DEFAULT_ACCOUNT_ID][self.template.region].sent_messages)


@pytest.fixture
def stack(template: Template, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """moto with every table, queue, bucket, topic and identity of template.yaml, and its environment."""
    env = template.environment()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _reset()
    with mock_aws():
        provision(template, _provision_session(template.region))
        store_test_identity_key(env)
        previous = identity.use_identity_key(None)
        yield Stack(template=template, env=env)
        identity.use_identity_key(previous)
    _reset()


def store_test_identity_key(env: dict[str, str]) -> None:
    """Give a provisioned moto stack's identity secret the tests' key (see TEST_IDENTITY_KEY)."""
    secrets = _provision_session(os.environ["AWS_REGION"]).client("secretsmanager")
    secrets.put_secret_value(SecretId=env["IDENTITY_KEY_SECRET"], SecretString=TEST_IDENTITY_KEY)


@pytest.fixture
def frozen_clock() -> Iterator[clock.FrozenClock]:
    """A clock that stands still at 2026-11-23 10:00 UTC until the test moves it."""
    fake = clock.FrozenClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    previous = clock.use_clock(fake)
    yield fake
    clock.use_clock(previous)


@pytest.fixture
def metrics() -> Iterator[Callable[[], dict[str, float]]]:
    """The counts added to the process's CloudWatch metrics since the test began, by name."""
    from crm_core.observability import get_metrics

    recorded = get_metrics()
    recorded.clear_metrics()
    yield lambda: {name: sum(metric["Value"]) for name, metric in recorded.metric_set.items()}
    recorded.clear_metrics()


@dataclass
class LambdaContextStub:
    """The parts of Lambda's context object that Powertools and the handlers read."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> LambdaContextStub:
    """A minimal Lambda context object, as Powertools expects it."""
    return LambdaContextStub()


@pytest.fixture(autouse=True, scope="session")
def _one_botocore_session() -> Iterator[None]:
    """pynamodb builds a new botocore session per model class, and each loads the DynamoDB service
    model again (0.15-0.4 s, every test, every model): tests share one session instead."""
    import botocore.session

    shared = botocore.session.get_session()
    with mock.patch("pynamodb.connection.base.get_session", lambda: shared):
        yield


@pytest.fixture(autouse=True)
def _no_call_aws_would_deny(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test fails if a handler made a call its IAM role does not allow, even when the code caught
    the AccessDenied (a swallowed denial is a feature that silently does nothing on AWS).
    Tests that provoke a denial on purpose say so with `@pytest.mark.access_denied_expected`."""
    from tests.helpers import deployment

    denials = deployment().denials
    before = len(denials)
    yield
    new = denials[before:]
    if new and request.node.get_closest_marker("access_denied_expected") is None:
        pytest.fail(
            "AWS would deny these calls (template.yaml policies):\n  " + "\n  ".join(dict.fromkeys(new))
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The least-privilege review: grants of each function that no call in this run needed."""
    import json

    from infra.template import ROOT
    from tests.helpers import deployment

    checked = deployment.cache_info().currsize and deployment()
    if not checked or not checked.record():
        return
    out = ROOT / "build" / "iam-usage.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"used": checked.usage(), "unused": checked.unused_grants()}, indent=1))
    unused = checked.unused_grants()
    terminalreporter.section("IAM: grants no call in this run needed (least-privilege review)")
    for function, grants in unused.items():
        terminalreporter.write_line(f"{function}: {len(grants)} unused, e.g. {grants[0]}")
    terminalreporter.write_line(f"full report: {out.relative_to(ROOT)}")
