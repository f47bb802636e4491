"""GET /contacts/{id}/lifecycle (IAM) and the lifecycle function's bus signals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from crm_core.errors import ValidationFailed
from crm_core.lifecycle.service import read_contact
from crm_core.models import Contact, contact_id_for
from tests.helpers import http_event, load_handler
from tests.loyalty_helpers import send

ANA = "ana@example.com"


def _get(path: str, context: Any) -> tuple[int, dict[str, Any]]:
    answer = load_handler("serve_lifecycle").lambda_handler(http_event("GET", path), context)
    return answer["statusCode"], json.loads(answer["body"])


def test_the_lifecycle_shows_stage_history_value_and_segment(orders, lambda_context, frozen_clock) -> None:
    frozen_clock.set(datetime(2026, 5, 2, 10, tzinfo=UTC))
    order = {"event_id": "e-1", "type": "purchase", "order_id": "A-1", "email": ANA, "amount": "42.00"}
    send(orders.queue_url, {**order, "currency": "EUR", "occurred_at": "2026-05-02T09:00:00Z"})
    orders.drain()

    status, body = _get(f"/contacts/{contact_id_for(ANA)}/lifecycle", lambda_context)

    assert status == 200
    assert (body["stage"], body["reason"], body["since"]) == (
        "expansion",
        "first purchase",
        "2026-05-02T10:00:00+00:00",
    )
    assert body["history"] == [
        {"from": "exploration", "to": "expansion", "at": "2026-05-02T10:00:00+00:00",
         "reason": "first purchase", "cause": "purchase:A-1"}
    ]  # fmt: skip
    assert body["value"]["monetary_12m"] == "42.00" and body["value"]["frequency_12m"] == 1
    assert (body["rfm"], body["segment"]) == ("333", "need_attention")  # alone in the base: the middle
    assert body["most_valuable"] is False and body["most_valuable_by"] == []


def test_unknown_and_malformed_contacts_get_the_one_error_shape(stack, lambda_context) -> None:
    status, body = _get("/contacts/ct_aaaaaaaaaaaaaaaaaaaaaaaaaa/lifecycle", lambda_context)
    assert status == 404 and body["errors"][0]["message"].startswith("contact ct_aaaa")
    status, body = _get("/contacts/not-an-id/lifecycle", lambda_context)
    assert status == 400 and body["errors"][0]["field"] == "contact_id"


def test_a_survey_answer_is_engagement_once_however_often_it_arrives(stack, track, frozen_clock) -> None:
    contact_id = contact_id_for(ANA)
    Contact(contact_id, email=ANA).save()  # a lead
    detail = {"contact_id": contact_id, "answer_id": "ans-1", "answered_at": "2026-11-23T09:00:00Z"}
    first = track("crm.survey.answered", detail)
    for _ in range(5):
        assert track("crm.survey.answered", detail) == {"signal": "engaged", "changed_to": None}

    assert first == {"signal": "engaged", "changed_to": "awareness"}
    signals = (read_contact(contact_id) or {})["lifecycle"]["signals"]
    assert (signals["engagements"], signals["last_engagement"]) == (1, "survey answer")


@pytest.mark.parametrize(
    ("detail_type", "detail", "field"),
    [
        ("crm.case.opened", {"contact_id": "ct_x", "opened_at": "2026-01-01T00:00:00Z"}, "detail.case_id"),
        (
            "crm.case.opened",
            {"contact_id": "ct_x", "case_id": "c", "opened_at": "yesterday"},
            "detail.opened_at",
        ),
        ("crm.engagement", {"id": "m", "at": "2026-01-01T00:00:00Z"}, "detail.contact_id"),
        ("crm.unknown", {}, "detail-type"),
    ],
)
def test_a_malformed_signal_is_refused_naming_the_field(stack, track, detail_type, detail, field) -> None:
    with pytest.raises(ValidationFailed) as refused:
        track(detail_type, detail)
    assert refused.value.errors[0].field == field
