"""DynamoDB's 400 KB item limit as AWS counts it: moto 5.2 checks its own count (no list or map
overheads, 405,000 bytes); infra.aws_rules.limits refuses what AWS refuses, with AWS's error."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.aws_rules.limits import MAX_ITEM_BYTES, item_size


def _table(stack) -> str:
    return stack.env["CASES_TABLE"]


def test_item_size_counts_names_and_values_as_dynamodb_does() -> None:
    assert item_size({"pk": {"S": "abc"}}) == 2 + 3
    assert item_size({"n": {"N": "12345"}}) == 1 + 4  # (5 significant digits + 1) // 2 + 1
    assert item_size({"b": {"BOOL": True}, "z": {"NULL": True}}) == 2 + 2
    assert item_size({"l": {"L": [{"S": "ab"}, {"S": "é"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_size({"ss": {"SS": ["a", "bb"]}}) == 2 + 3


def test_a_put_item_over_400_kb_is_refused_as_aws_refuses_it(stack) -> None:
    client = boto3.client("dynamodb")
    item = {"pk": {"S": "big"}, "sk": {"S": "case"}, "text": {"S": "x" * MAX_ITEM_BYTES}}

    with pytest.raises(ClientError) as refused:
        client.put_item(TableName=_table(stack), Item=item)

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Item size has exceeded the maximum allowed size" in refused.value.response["Error"]["Message"]


def test_a_large_item_under_the_limit_is_stored(stack) -> None:
    client = boto3.client("dynamodb")
    client.put_item(
        TableName=_table(stack), Item={"pk": {"S": "ok"}, "sk": {"S": "case"}, "text": {"S": "x" * 300_000}}
    )
    assert client.get_item(TableName=_table(stack), Key={"pk": {"S": "ok"}, "sk": {"S": "case"}})["Item"]


def test_list_overheads_count_as_aws_counts_them_where_moto_does_not(stack) -> None:
    # moto 5.2 counts 1 byte per number "1" (140 KB); AWS counts 3 (value, element, ~420 KB): refused.
    numbers = {"L": [{"N": "1"}] * 140_000}
    with pytest.raises(ClientError) as refused:
        boto3.client("dynamodb").put_item(
            TableName=_table(stack), Item={"pk": {"S": "l"}, "sk": {"S": "case"}, "lots": numbers}
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_an_oversized_put_inside_a_transaction_is_refused(stack) -> None:
    client = boto3.client("dynamodb")
    put = {
        "TableName": _table(stack),
        "Item": {"pk": {"S": "t"}, "sk": {"S": "case"}, "x": {"S": "y" * 500_000}},
    }

    with pytest.raises(ClientError) as refused:
        client.transact_write_items(TransactItems=[{"Put": put}])

    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_an_update_whose_values_alone_exceed_the_limit_is_refused(stack) -> None:
    client = boto3.client("dynamodb")
    with pytest.raises(ClientError) as refused:
        client.update_item(
            TableName=_table(stack),
            Key={"pk": {"S": "u"}, "sk": {"S": "case"}},
            UpdateExpression="SET #t = :t",
            ExpressionAttributeNames={"#t": "text"},
            ExpressionAttributeValues={":t": {"S": "z" * 500_000}},
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"
