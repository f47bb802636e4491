"""The IAM evaluator decides as AWS does for the shapes our template uses, and the call mapping asks
for the authorizations AWS documents (per-item actions in transactions, index ARNs, SES's two ARNs)."""

from __future__ import annotations

import pytest

from infra.aws_rules.calls import requests_for, secret_arn
from infra.aws_rules.policy import PolicyNotUnderstood, Request, Statement, evaluate

TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/T"


def allow(action: object, resource: object, **extra: object) -> Statement:
    return Statement.parse({"Effect": "Allow", "Action": action, "Resource": resource, **extra})


def test_an_allow_must_match_action_and_resource() -> None:
    statements = [allow("dynamodb:GetItem", TABLE)]
    assert evaluate(statements, Request("dynamodb:GetItem", (TABLE,))).allowed
    assert not evaluate(statements, Request("dynamodb:PutItem", (TABLE,))).allowed
    assert not evaluate(statements, Request("dynamodb:GetItem", (TABLE + "2",))).allowed


def test_a_table_grant_does_not_cover_its_indexes() -> None:
    statements = [allow("dynamodb:Query", TABLE)]
    assert not evaluate(statements, Request("dynamodb:Query", (TABLE + "/index/due",))).allowed
    assert evaluate(
        [allow("dynamodb:Query", TABLE + "/index/*")], Request("dynamodb:Query", (TABLE + "/index/due",))
    ).allowed


def test_wildcards_in_actions_are_case_insensitive_and_resources_are_not() -> None:
    assert evaluate([allow("DynamoDB:Get*", "*")], Request("dynamodb:GetItem", (TABLE,))).allowed
    assert not evaluate([allow("*", TABLE.upper())], Request("dynamodb:GetItem", (TABLE,))).allowed


def test_an_explicit_deny_wins() -> None:
    statements = [
        allow("*", "*"),
        Statement.parse({"Effect": "Deny", "Action": "dynamodb:Scan", "Resource": "*"}),
    ]
    decision = evaluate(statements, Request("dynamodb:Scan", (TABLE,)))
    assert not decision.allowed and decision.explicit_deny is not None


def test_ses_from_address_condition() -> None:
    statements = [
        allow("ses:SendEmail", "*", Condition={"StringEquals": {"ses:FromAddress": "crm@shop.example"}})
    ]
    ok = Request("ses:SendEmail", ("*",), {"ses:FromAddress": "crm@shop.example"})
    forged = Request("ses:SendEmail", ("*",), {"ses:FromAddress": "ceo@shop.example"})
    missing = Request("ses:SendEmail", ("*",), {})
    assert evaluate(statements, ok).allowed
    assert not evaluate(statements, forged).allowed
    assert not evaluate(statements, missing).allowed


def test_if_exists_and_negated_operators_on_a_missing_key() -> None:
    if_exists = [allow("s3:*", "*", Condition={"StringEqualsIfExists": {"aws:SourceAccount": "1"}})]
    assert evaluate(if_exists, Request("s3:GetObject", ("x",))).allowed
    negated = [allow("s3:*", "*", Condition={"StringNotEquals": {"aws:SourceAccount": "1"}})]
    assert evaluate(negated, Request("s3:GetObject", ("x",))).allowed
    assert not evaluate(negated, Request("s3:GetObject", ("x",), {"aws:SourceAccount": "1"})).allowed


def test_an_operator_it_does_not_know_is_refused_not_ignored() -> None:
    with pytest.raises(PolicyNotUnderstood):
        allow("s3:*", "*", Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})
    with pytest.raises(PolicyNotUnderstood):
        Statement.parse({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"})


def test_a_transaction_is_authorized_per_item_with_the_item_actions() -> None:
    params = {
        "TransactItems": [
            {"Put": {"TableName": "Ledger", "Item": {}}},
            {"Update": {"TableName": "Balances", "Key": {}}},
            {"ConditionCheck": {"TableName": "Contacts", "Key": {}}},
        ]
    }
    found = [
        (r.action, r.resource.rsplit("/", 1)[1])
        for r in requests_for("dynamodb", "TransactWriteItems", params, "eu-west-1")
    ]
    assert found == [
        ("dynamodb:PutItem", "Ledger"),
        ("dynamodb:UpdateItem", "Balances"),
        ("dynamodb:ConditionCheckItem", "Contacts"),
    ]


def test_batch_get_is_authorized_on_every_table_it_reads() -> None:
    params = {"RequestItems": {"Contacts": {"Keys": []}, "Loyalty": {"Keys": []}}}
    found = requests_for("dynamodb", "BatchGetItem", params, "eu-west-1")
    assert [(r.action, r.resource.rsplit("/", 1)[1]) for r in found] == [
        ("dynamodb:BatchGetItem", "Contacts"),
        ("dynamodb:BatchGetItem", "Loyalty"),
    ]


def test_a_query_of_an_index_is_authorized_on_the_index() -> None:
    (request,) = requests_for("dynamodb", "Query", {"TableName": "T", "IndexName": "due"}, "eu-west-1")
    assert request.resource == TABLE + "/index/due"


def test_s3_versions_are_authorized_with_their_own_actions() -> None:
    # AWS: ListObjectVersions needs s3:ListBucketVersions; with a VersionId, GetObject and DeleteObject
    # need s3:GetObjectVersion and s3:DeleteObjectVersion (DeleteObject alone only adds a delete marker).
    (listing,) = requests_for("s3", "ListObjectVersions", {"Bucket": "b", "Prefix": "p/"}, "eu-west-1")
    assert (listing.action, listing.resource) == ("s3:ListBucketVersions", "arn:aws:s3:::b")
    (version,) = requests_for(
        "s3", "DeleteObject", {"Bucket": "b", "Key": "k", "VersionId": "v1"}, "eu-west-1"
    )
    assert (version.action, version.resource) == ("s3:DeleteObjectVersion", "arn:aws:s3:::b/k")
    (current,) = requests_for("s3", "DeleteObject", {"Bucket": "b", "Key": "k"}, "eu-west-1")
    assert current.action == "s3:DeleteObject"
    (read,) = requests_for("s3", "GetObject", {"Bucket": "b", "Key": "k", "VersionId": "v1"}, "eu-west-1")
    assert read.action == "s3:GetObjectVersion"


def test_an_ses_v2_send_needs_the_identity_and_the_configuration_set() -> None:
    params = {
        "FromEmailAddress": "CRM <crm@shop.example>",
        "Destination": {"ToAddresses": ["ana@example.com"]},
        "Content": {"Raw": {"Data": b"From: x\r\n\r\n"}},
        "ConfigurationSetName": "feedback",
    }
    identity, config_set = requests_for("sesv2", "SendEmail", params, "eu-west-1")
    assert identity.action == config_set.action == "ses:SendEmail"
    assert identity.resources == (
        "arn:aws:ses:eu-west-1:123456789012:identity/crm@shop.example",
        "arn:aws:ses:eu-west-1:123456789012:identity/shop.example",
    )
    assert config_set.resource == "arn:aws:ses:eu-west-1:123456789012:configuration-set/feedback"
    assert identity.context["ses:FromAddress"] == "crm@shop.example"


def test_the_from_address_of_a_raw_message_is_read_from_its_header() -> None:
    params = {
        "Destination": {"ToAddresses": ["a@b.c"]},
        "Content": {"Raw": {"Data": b"From: Shop <crm@shop.example>\r\n\r\nhi"}},
    }
    (identity,) = requests_for("sesv2", "SendEmail", params, "eu-west-1")
    assert identity.context["ses:FromAddress"] == "crm@shop.example"


def test_a_secret_named_or_arned_has_one_arn() -> None:
    by_name = secret_arn("crm-local-SigningKeySecret", "eu-west-1")
    by_arn = secret_arn(
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:crm-local-SigningKeySecret-AbCdEf", "eu-west-1"
    )
    assert by_name == by_arn


def test_a_queue_under_a_customer_key_also_needs_kms() -> None:
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"
    key = "arn:aws:kms:eu-west-1:123456789012:key/k"
    found = requests_for(
        "sqs",
        "SendMessage",
        {"QueueUrl": url, "MessageBody": "{}"},
        "eu-west-1",
        {"arn:aws:sqs:eu-west-1:123456789012:orders": key}.get,
    )
    assert [r.action for r in found] == ["sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"]


def test_for_all_values_holds_for_a_missing_key_and_for_any_value_does_not() -> None:
    all_values = [
        allow(
            "ses:SendEmail", "*", Condition={"ForAllValues:StringLike": {"ses:Recipients": "*@shop.example"}}
        )
    ]
    any_value = [
        allow(
            "ses:SendEmail", "*", Condition={"ForAnyValue:StringLike": {"ses:Recipients": "*@shop.example"}}
        )
    ]
    nobody = Request("ses:SendEmail", ("*",), {})
    outsider = Request("ses:SendEmail", ("*",), {"ses:Recipients": ["ana@shop.example", "eve@evil.example"]})
    assert evaluate(all_values, nobody).allowed and not evaluate(any_value, nobody).allowed
    assert not evaluate(all_values, outsider).allowed and evaluate(any_value, outsider).allowed
