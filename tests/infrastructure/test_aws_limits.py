"""What AWS checks at deploy time and the transform does not: account quotas, resources that may
already exist, data that must survive the stack, logs that must expire. Read from the transformed
template (what CloudFormation gets), with the parameters a user may set."""

from __future__ import annotations

from typing import Any

import pytest

from infra.aws_rules.enforce import Deployment
from infra.template import Template

SCHEDULED = {
    "SendFollowupsFunction",
    "SendOccasionsFunction",
    "EscalateCasesFunction",
    "ExpirePointsFunction",
}


def transformed(**parameters: str) -> Template:
    return Deployment(Template(parameters=parameters)).transformed


def resolved(template: Template, logical_id: str) -> dict[str, Any]:
    return template.resolve(template.resources[logical_id].get("Properties", {}))  # type: ignore[no-any-return]


def reserved(template: Template) -> dict[str, int]:
    found = {}
    for logical_id, _ in template.of_type("AWS::Lambda::Function"):
        value = resolved(template, logical_id).get("ReservedConcurrentExecutions")
        if value is not None:
            found[logical_id] = int(value)
    return found


def test_a_new_account_can_deploy_it_no_reserved_concurrency_by_default() -> None:
    # New accounts have a concurrency limit of 10, and AWS keeps 100 unreserved: any reservation fails.
    assert reserved(transformed()) == {}


def test_reserved_concurrency_when_asked_keeps_each_scheduled_run_alone() -> None:
    assert reserved(transformed(ReservedConcurrency="1")) == dict.fromkeys(SCHEDULED, 1)


def test_the_sender_identity_is_created_only_when_asked_and_then_retained() -> None:
    assert not list(transformed().of_type("AWS::SES::EmailIdentity"))
    created = transformed(CreateSenderIdentity="true")
    ((logical_id, resource),) = created.of_type("AWS::SES::EmailIdentity")
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain", logical_id


def test_the_receipt_rule_joins_an_existing_rule_set_when_named() -> None:
    own = transformed()
    assert [r["DeletionPolicy"] for _, r in own.of_type("AWS::SES::ReceiptRuleSet")] == ["Retain"]
    shared = transformed(ReceiptRuleSetName="default-rule-set")
    assert not list(shared.of_type("AWS::SES::ReceiptRuleSet"))
    assert resolved(shared, "SupportReceiptRule")["RuleSetName"] == "default-rule-set"
    source = resolved(shared, "RouteComplaintSesPermission")["SourceArn"]
    assert ":receipt-rule-set/default-rule-set:receipt-rule/" in source


@pytest.mark.parametrize(
    "logical_id", ["SigningKeySecret", "ContactsTable", "LoyaltyTable", "InboundMailBucket"]
)
def test_what_links_and_customers_depend_on_survives_the_stack(logical_id: str) -> None:
    resource = transformed().resources[logical_id]
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


def test_every_function_logs_to_a_group_that_expires() -> None:
    template = transformed(LogRetentionDays="30")
    groups = {
        str(props["LogGroupName"]): int(props.get("RetentionInDays", 0))
        for props in (
            resolved(template, logical_id) for logical_id, _ in template.of_type("AWS::Logs::LogGroup")
        )
        if "LogGroupName" in props
    }
    for logical_id, _ in template.of_type("AWS::Lambda::Function"):
        name = f"/aws/lambda/{template.physical_name(logical_id)}"
        assert groups.get(name) == 30, f"{logical_id} logs to no group with a retention"


def test_alarms_on_our_own_metrics_are_per_environment() -> None:
    template = transformed(EnvironmentName="prod")
    for logical_id, _ in template.of_type("AWS::CloudWatch::Alarm"):
        alarm = resolved(template, logical_id)
        if alarm["Namespace"].startswith("AWS/"):
            continue
        assert {"Name": "environment", "Value": "prod"} in alarm["Dimensions"], logical_id


def test_one_click_unsubscribes_after_a_campaign_are_not_throttled_away() -> None:
    stage = next(r for _, r in transformed().of_type("AWS::ApiGatewayV2::Stage"))
    routes = stage["Properties"]["RouteSettings"]
    for route in ("GET /unsubscribe", "POST /unsubscribe"):
        assert routes[route]["ThrottlingRateLimit"] >= 100, route
        assert routes[route]["ThrottlingBurstLimit"] >= 500, route
