"""`crm smoke`: the flow with a fake stack lookup and a fake HTTP post, the reads on moto. No network."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.cli import main
from infra.commands import smoke
from infra.commands.smoke import SmokeFailed, StackInfo
from tests.helpers import http_event, load_handler

NOW = 1_800_000_000.123  # 2027-01-15 08:00:00.123 UTC
API = "https://abc123.execute-api.eu-west-1.amazonaws.com"


def lookup_for(table: str, sender: str | None = "crm@shop.example") -> smoke.StackLookup:
    def lookup(stack: str) -> StackInfo:
        assert stack == "crm-automation-dev"
        return StackInfo(api_url=API, contacts_table=table, sender_address=sender)

    return lookup


def handler_post(lambda_context: Any) -> tuple[smoke.PostJson, list[tuple[str, dict[str, Any]]]]:
    """A PostJson that gives the body to the real capture_lead handler (on moto), as API Gateway would."""
    handler = load_handler("capture_lead")
    posted: list[tuple[str, dict[str, Any]]] = []

    def post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
        posted.append((url, body))
        answer = handler.lambda_handler(http_event("POST", "/leads", body=body), lambda_context)
        return int(answer["statusCode"]), json.loads(answer["body"])

    return post, posted


def test_a_lead_goes_in_and_its_contact_comes_back(stack: Any, lambda_context: Any) -> None:
    post, posted = handler_post(lambda_context)
    table = stack.env["CONTACTS_TABLE"]

    smoked = smoke.run_smoke(
        "crm-automation-dev",
        lookup=lookup_for(table),
        post=post,
        read_contact=smoke.dynamodb_reader("eu-west-1"),
        now=NOW,
    )

    assert posted == [
        (
            f"{API}/leads",
            {
                "email": "smoke+20270115080000123@shop.example",
                "first_name": "Smoke",
                "last_name": "Test",
                "form_id": "smoke-test",
            },
        )
    ]
    assert smoked.status == 201
    assert smoked.contact["contact_id"] == smoked.contact_id
    assert smoked.contact["email"] == "smoke+20270115080000123@shop.example"
    assert smoked.contact["first_name"] == "Smoke"


def test_a_missing_contact_fails_the_read_back(stack: Any) -> None:
    def post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
        return 201, {"contact_id": "c-never-written"}

    with pytest.raises(SmokeFailed, match=r"contact c-never-written is not in table .* after 201"):
        smoke.run_smoke(
            "crm-automation-dev",
            lookup=lookup_for(stack.env["CONTACTS_TABLE"]),
            post=post,
            read_contact=smoke.dynamodb_reader("eu-west-1"),
            now=NOW,
        )


def test_a_missing_table_is_a_failed_read(stack: Any) -> None:
    with pytest.raises(SmokeFailed, match="cannot read contact c-1 from no-such-table"):
        smoke.dynamodb_reader("eu-west-1")("no-such-table", "c-1")


@pytest.mark.parametrize(
    ("status", "answer", "message"),
    [
        (503, {"message": "Service Unavailable"}, "answered 503, expected 201 or 200"),
        (400, {"errors": [{"field": "email"}]}, "answered 400"),
        (201, {"ok": True}, "answered 201 without a contact_id"),
        (200, "<html>thanks</html>", "answered 200 without a contact_id"),
    ],
)
def test_a_wrong_answer_fails_the_post(status: int, answer: Any, message: str) -> None:
    def read(table: str, contact_id: str) -> dict[str, Any] | None:
        raise AssertionError("nothing is read after a failed post")

    with pytest.raises(SmokeFailed, match=message):
        smoke.run_smoke(
            "crm-automation-dev",
            lookup=lookup_for("contacts"),
            post=lambda url, body: (status, answer),
            read_contact=read,
            now=NOW,
        )


def test_a_contact_with_another_address_fails() -> None:
    with pytest.raises(SmokeFailed, match="holds 'someone@else.example'"):
        smoke.run_smoke(
            "crm-automation-dev",
            lookup=lookup_for("contacts"),
            post=lambda url, body: (200, {"contact_id": "c-1"}),
            read_contact=lambda table, contact_id: {"contact_id": "c-1", "email": "someone@else.example"},
            now=NOW,
        )


@pytest.mark.parametrize(
    ("base", "sender", "address"),
    [
        (None, "crm@shop.example", "smoke+20270115080000123@shop.example"),
        ("qa.shop.example", "crm@shop.example", "smoke+20270115080000123@qa.shop.example"),
        ("success@simulator.amazonses.com", None, "success+smoke-20270115080000123@simulator.amazonses.com"),
    ],
)
def test_the_test_address(base: str | None, sender: str | None, address: str) -> None:
    assert smoke.smoke_address(base, sender, now=NOW) == address


def test_no_domain_at_all_is_said() -> None:
    with pytest.raises(SmokeFailed, match="no domain for the test address"):
        smoke.smoke_address(None, None, now=NOW)


def test_the_cloudformation_lookup_reads_outputs_parameters_and_the_table() -> None:
    """A plain CloudFormation stack in moto with the names the real one has (moto cannot run SAM)."""
    body = {
        "Parameters": {"SenderAddress": {"Type": "String", "Default": "crm@example.com"}},
        "Resources": {
            "ContactsTable": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "contact_id", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "contact_id", "KeyType": "HASH"}],
                },
            }
        },
        "Outputs": {"HttpApiUrl": {"Value": API + "/"}},
    }
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
        cloudformation.create_stack(
            StackName="crm-automation-dev",
            TemplateBody=json.dumps(body),
            Parameters=[{"ParameterKey": "SenderAddress", "ParameterValue": "crm@shop.example"}],
        )
        table = boto3.client("dynamodb", region_name="eu-west-1").list_tables()["TableNames"][0]
        lookup = smoke.cloudformation_lookup("eu-west-1")

        assert lookup("crm-automation-dev") == StackInfo(
            api_url=API, contacts_table=table, sender_address="crm@shop.example"
        )
        with pytest.raises(SmokeFailed, match="cannot read stack crm-automation-missing"):
            lookup("crm-automation-missing")


def test_the_command_says_what_failed(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        assert main(["smoke", "--stack", "crm-automation-dev", "--region", "eu-west-1"]) == 1

    assert capsys.readouterr().out.startswith("smoke FAILED: cannot read stack crm-automation-dev:")


def test_without_a_deployed_stack_it_says_to_name_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["smoke", "--stack", ""]) == 2
    assert main(["smoke", "--stack", "local"]) == 2
    assert capsys.readouterr().err.count("crm: crm smoke checks a deployed stack: pass --stack NAME") == 2


def test_the_command_prints_what_it_found(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(smoke, "cloudformation_lookup", lambda region: lookup_for("contacts"))
    monkeypatch.setattr(smoke, "post_json", lambda url, body: (201, {"contact_id": "c-1"}))
    monkeypatch.setattr(
        smoke,
        "dynamodb_reader",
        lambda region: lambda table, contact_id: {"contact_id": "c-1", "email": "ops+smoke-x@shop.example"},
    )
    monkeypatch.setattr(smoke, "smoke_address", lambda base, sender, now: "ops+smoke-x@shop.example")

    assert main(["smoke", "--stack", "crm-automation-dev", "--email", "ops@shop.example"]) == 0

    assert capsys.readouterr().out == (
        "smoke ok: POST /leads 201 for ops+smoke-x@shop.example\n"
        'contact in the table: {"contact_id": "c-1", "email": "ops+smoke-x@shop.example", '
        '"first_name": null, "created_at": null}\n'
    )
