"""Every message of the corpus, delivered as SES would, becomes a case or a quarantine with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_core.cases import store
from tests.complaints import ses_event
from tests.helpers import load_handler

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
EXPECTED = {
    k: v for k, v in json.loads((CORPUS / "expected.json").read_text()).items() if not k.startswith("_")
}


def test_the_whole_corpus_becomes_cases_or_quarantines_and_nothing_raises(
    stack, frozen_clock, lambda_context
) -> None:
    handler = load_handler("route_complaint")
    acknowledged = 0
    for name, expected in sorted(EXPECTED.items()):
        raw = (CORPUS / name).read_bytes()
        (result,) = handler.lambda_handler(ses_event(raw), lambda_context)["cases"]
        case, events = store.case_and_events(result["case_id"])
        if expected["result"] == "quarantine":
            assert case.status == "quarantined", name
            assert case.quarantine_reason, name
            assert result["ack"].startswith("none"), name
        else:
            assert case.status == "open", name
            assert case.category == expected["category"], name
            assert result["ack"] == "sent", name
            acknowledged += 1
            if "locale" in expected:
                assert case.locale == expected["locale"], name
            inbound = [e for e in events if e.kind == "inbound"][0]
            assert expected["contains"].lower() in f"{inbound.subject}\n{inbound.text}".lower(), name
            attachments = [a["name"] for a in json.loads(inbound.detail)["attachments"]]
            assert attachments == expected.get("attachments", []), name
    assert len(stack.sent_emails()) == acknowledged


@pytest.mark.parametrize("verdict", ["spam", "virus"])
def test_a_spam_or_virus_verdict_quarantines_without_an_ack(
    stack, frozen_clock, lambda_context, verdict
) -> None:
    raw = (CORPUS / "outlook_en_billing_cp1252_qp.eml").read_bytes()
    (result,) = load_handler("route_complaint").lambda_handler(
        ses_event(raw, **{verdict: "FAIL"}), lambda_context
    )["cases"]
    assert result["outcome"] == "quarantined"
    assert store.get_case(result["case_id"]).quarantine_reason == f"ses verdict {verdict} FAIL"
    assert stack.sent_emails() == []


def test_mail_missing_from_the_bucket_is_quarantined_not_lost(stack, frozen_clock, lambda_context) -> None:
    event = ses_event(b"From: a@example.com\r\n\r\nhello", store=False)
    (result,) = load_handler("route_complaint").lambda_handler(event, lambda_context)["cases"]
    case = store.get_case(result["case_id"])
    assert case.status == "quarantined"
    assert "not found" in case.quarantine_reason
