"""Loyalty's part of template.yaml agrees with the code: queue, DLQ, indexes, messages."""

from __future__ import annotations

import pytest

from crm_core.messaging.templates import available_locales, render
from crm_core.models.loyalty import LedgerEntry, LotMarker, LoyaltyBalance
from crm_core.settings import Settings
from infra.template import Template


def test_the_function_knows_when_sqs_would_redrive_the_message(template: Template) -> None:
    queue = template.resources["OrdersQueue"]["Properties"]
    configured = Settings.from_env({**{n: "x" for n in Settings.variables()}, **template.environment()})
    assert queue["RedrivePolicy"]["maxReceiveCount"] == configured.orders_max_receive_count
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["OrdersDeadLetterQueue", "Arn"]}
    assert template.environment()["ORDERS_DEAD_LETTER_QUEUE_URL"] == template.ref("OrdersDeadLetterQueue")


def test_the_orders_event_source_reports_partial_failures(template: Template) -> None:
    function = template.functions()["UpdateLoyaltyFunction"]
    source = function.events["Orders"]["Properties"]
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["BatchSize"] == 10


def test_the_models_indexes_are_the_tables(template: Template) -> None:
    props = template.resources["LoyaltyTable"]["Properties"]
    declared = {
        ix["IndexName"]: [k["AttributeName"] for k in ix["KeySchema"]]
        for ix in props["GlobalSecondaryIndexes"] + props["LocalSecondaryIndexes"]
    }
    for index, keys in (
        (LoyaltyBalance.review_index, ["review_key", "contact_id"]),
        (LotMarker.expiry_index, ["expiry_key", "contact_id"]),
        (LedgerEntry.history, ["contact_id", "history_key"]),
    ):
        assert declared[index.Meta.index_name] == keys


@pytest.mark.parametrize("name", ["tier-change", "points-expiring"])
def test_loyalty_messages_exist_in_every_language_and_render(name: str) -> None:
    assert {"en", "it", "de", "id"} <= available_locales(name)
    context = {
        "name": "Zoë <b>",
        "tier": "gold",
        "previous_tier": "silver",
        "upgrade": True,
        "multiplier": "1.5",
        "balance": 1200,
        "points": 300,
        "expires_on": "2027-11-23",
    }
    for locale in ("en", "it", "de", "id"):
        rendered = render(name, locale, context)
        assert rendered.locale == locale
        assert "Zoë &lt;b&gt;" in rendered.html  # autoescaped
        assert rendered.subject and "\n" not in rendered.subject
