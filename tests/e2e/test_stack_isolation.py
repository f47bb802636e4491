"""Stacks started one after the other in one process share nothing, and give the process back as it was."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crm_core import clock
from infra.local.client import LocalClient
from infra.local.stack import LocalStack
from infra.template import Template

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "local_stack" / "template.yaml"


def test_a_second_stack_starts_from_nothing_and_the_process_gets_its_environment_back() -> None:
    endpoint_before = os.environ.get("AWS_ENDPOINT_URL")
    template = Template(path=FIXTURE)

    with LocalStack(template, port=0, log_requests=False) as first:
        local = LocalClient(first.url)
        local.set_clock("2031-01-01T00:00:00Z")
        local.post("/send", json={"to": "zoe@example.com", "subject": "Hi", "text": "Hello"})
        first.queues.send("OrdersQueue", '{"waiting": true}')
        assert len(local.outbox()) == 1
        with pytest.raises(RuntimeError, match="already running"):
            LocalStack(template, port=0).start()

    assert os.environ.get("AWS_ENDPOINT_URL") == endpoint_before
    assert "GREETING" not in os.environ, "a function's environment does not outlive the stack"
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1), "the process clock is real time again"

    with LocalStack(template, port=0, log_requests=False) as second:
        local = LocalClient(second.url)
        assert local.outbox() == []
        assert {q["logical_id"]: q["depth"] for q in local.queues()}["OrdersQueue"] == 0
        assert local.now() < "2031", "a new stack starts at real time"
