"""`crm points` against a deployed stack: it finds the stack's resources and the functions' settings.

CloudFormation and Lambda are stubbed with botocore's Stubber (moto cannot deploy a SAM stack);
DynamoDB and SQS are the moto stack the other loyalty tests use.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from crm_core import loyalty
from crm_core.models import Contact, contact_id_for
from infra.cli import main
from infra.commands import points
from tests.loyalty_data import ANA, purchase

CID = contact_id_for(ANA)


class StubbedSession:
    """A boto3 session whose CloudFormation and Lambda answer like a deployed stack."""

    def __init__(self, stack, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
        self.cfn = boto3.client("cloudformation")
        self.lam = boto3.client("lambda")
        for name, value in stack.env.items():
            monkeypatch.setenv(name, value)  # restored after the test, whatever the command sets
        resources = [
            ("ServeLoyaltyFunction", "crm-prod-ServeLoyalty-1A2B"),
            ("OrdersQueue", stack.template.ref("OrdersQueue")),
        ]
        cfn = Stubber(self.cfn)
        cfn.add_response(
            "list_stack_resources",
            {
                "StackResourceSummaries": [
                    {
                        "LogicalResourceId": logical,
                        "PhysicalResourceId": physical,
                        "ResourceType": "AWS::Lambda::Function",
                        "LastUpdatedTimestamp": "2026-11-23T10:00:00Z",
                        "ResourceStatus": "CREATE_COMPLETE",
                    }
                    for logical, physical in resources
                ]
            },
            {"StackName": "crm-prod"},
        )
        lam = Stubber(self.lam)
        lam.add_response(
            "get_function_configuration",
            {"Environment": {"Variables": stack.env}},
            {"FunctionName": "crm-prod-ServeLoyalty-1A2B"},
        )
        cfn.activate()
        lam.activate()

    def client(self, name: str) -> Any:
        return {"cloudformation": self.cfn, "lambda": self.lam}.get(name) or boto3.client(name)


def test_the_deployed_stack_is_read_with_the_functions_settings(stack, frozen_clock, monkeypatch) -> None:
    Contact(CID, email=ANA, created_at=frozen_clock.now()).save()
    loyalty.apply_order_event(purchase("A-1", "30.00"))

    target = points.AwsTarget("crm-prod", session=StubbedSession(stack, monkeypatch))

    summary = target.summary(CID)
    assert summary is not None and summary["balance"] == 130
    assert [e["id"] for e in target.history(CID, 5)] == ["purchase#A-1"]
    assert target.summary(contact_id_for("nobody@example.com")) is None
    assert "queued as message" in target.send_order_event({"type": "adjustment"})
    sent = boto3.client("sqs").receive_message(QueueUrl=stack.template.ref("OrdersQueue"))["Messages"]
    assert json.loads(sent[0]["Body"]) == {"type": "adjustment"}


def test_show_prints_balance_tier_expiry_and_entries(stack, frozen_clock, capsys, monkeypatch) -> None:
    Contact(CID, email=ANA, created_at=frozen_clock.now()).save()
    loyalty.apply_order_event(purchase("A-1", "30.00"))
    session = StubbedSession(stack, monkeypatch)
    monkeypatch.setattr(points, "ledger_of", lambda args: points.AwsTarget(args.stack, session=session))

    assert main(["points", "show", ANA, "--stack", "crm-prod"]) == 0

    out = capsys.readouterr().out
    assert "balance 130 points (available 130, owed 0)" in out
    assert "tier bronze" in out and "next expiry: 130 points on 2027-11-23" in out
    assert "purchase#A-1" in out


def test_adjusting_by_zero_is_refused(capsys) -> None:
    assert main(["points", "adjust", ANA, "0", "--reason", "nothing"]) == 2
