"""Fixtures of the loyalty tests.

`stack` is overridden here: the template's resources are created in moto once per module, and each
test starts from empty tables, queues and outbox. Creating every resource per test costs a second
or more each time on our shared machines; wiping a few dozen items costs milliseconds. Tests see
exactly what the shared fixture gives them (the same resources, names and environment).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws

from crm_core import aws
from crm_core.loyalty import rules
from crm_core.models import reset_connections
from crm_core.settings import reset_settings
from infra.provision import provision
from infra.template import Template
from tests.conftest import Stack, store_test_identity_key
from tests.loyalty_data import LAYER_RULES
from tests.loyalty_helpers import EventSource, load_handler


def _reset() -> None:
    reset_settings()
    aws.reset_clients()
    reset_connections()


@pytest.fixture(scope="module")
def _module_stack(template: Template) -> Iterator[Stack]:
    env = template.environment()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setenv("MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR", "false")  # we purge between tests
        _reset()
        with mock_aws():
            provision(template)
            store_test_identity_key(env)
            yield Stack(template=template, env=env)
        _reset()


def _wipe(template: Template) -> None:
    ddb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    for logical_id, _ in template.of_type("AWS::DynamoDB::Table"):
        name = template.physical_name(logical_id)
        keys = [k["AttributeName"] for k in ddb.describe_table(TableName=name)["Table"]["KeySchema"]]
        for page in ddb.get_paginator("scan").paginate(TableName=name):  # test cleanup, not a Lambda path
            for item in page["Items"]:
                ddb.delete_item(TableName=name, Key={k: item[k] for k in keys})
    for logical_id, _ in template.of_type("AWS::SQS::Queue"):
        sqs.purge_queue(QueueUrl=template.ref(logical_id))


@pytest.fixture
def stack(_module_stack: Stack) -> Iterator[Stack]:
    """The shared fixture's stack, emptied before each test."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    _wipe(_module_stack.template)
    ses_backends[DEFAULT_ACCOUNT_ID][_module_stack.template.region].sent_messages.clear()
    yield _module_stack


@pytest.fixture
def orders(stack: Stack, frozen_clock: Any, lambda_context: Any) -> EventSource:
    """The orders queue with the update_loyalty handler behind it, as Lambda's event source runs it."""
    handler = load_handler("update_loyalty").lambda_handler
    return EventSource.for_queue(stack.template, "OrdersQueue", handler, lambda_context)


@pytest.fixture
def rules_dir(tmp_path: Path) -> Iterator[Path]:
    """A rules folder of the test's own, holding a copy of the layer's rules; add versions to it."""
    (tmp_path / "2026-01.json").write_text(json.dumps(LAYER_RULES))
    with mock.patch.object(rules, "RULES_DIR", tmp_path):
        rules.rulebook.cache_clear()
        yield tmp_path
    rules.rulebook.cache_clear()
