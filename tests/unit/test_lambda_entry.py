"""Every handler is entered one way (crm_core.observability.lambda_entry) and every run report speaks
one protocol (Report: `as_dict()`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crm_core.campaigns.sender import RunReport as FollowupReport
from crm_core.cases.escalation import RunReport as EscalationReport
from crm_core.loyalty.daily import DailyReport
from crm_core.messaging.feedback import Summary
from crm_core.observability import Report, get_logger, get_metrics, lambda_entry
from crm_core.occasions.run import RunReport as OccasionsReport


@pytest.mark.parametrize(
    "report",
    [EscalationReport(), FollowupReport(), DailyReport(day="2027-01-01"), Summary(), OccasionsReport("", [])],
    ids=lambda r: type(r).__module__,
)
def test_every_run_report_answers_as_dict(report: Any) -> None:
    assert isinstance(report, Report)
    json.dumps(report.as_dict())  # what the handler returns and the local stack shows


def test_an_entered_handler_logs_its_correlation_id_forgets_the_last_keys_and_flushes_metrics(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lambda_context: Any
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "entry-test")  # a logger of its own, writing to capsys
    logger = get_logger()

    @lambda_entry("id")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.info("ran")
        logger.append_keys(order_id=event["id"])  # a key of this invocation only
        get_metrics().add_metric(name="EntryTestRuns", unit="Count", value=1)
        return {"id": event["id"]}

    assert handler({"id": "evt-1"}, lambda_context) == {"id": "evt-1"}
    assert handler({"id": "evt-2"}, lambda_context) == {"id": "evt-2"}

    out = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    ran = [line for line in out if line.get("message") == "ran"]
    assert [line["correlation_id"] for line in ran] == ["evt-1", "evt-2"]
    assert [line["function_request_id"] for line in ran] == [lambda_context.aws_request_id] * 2
    assert "order_id" not in ran[1]  # cleared when the second invocation began
    assert sum("EntryTestRuns" in line for line in out) == 2  # flushed after each invocation
