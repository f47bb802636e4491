"""Follow-ups over HTTP on the local stack: the demo's story, forged links, SES feedback on its topic."""

from __future__ import annotations

import importlib.util
import json

import pytest

from infra.template import ROOT

pytestmark = pytest.mark.e2e
pytest.importorskip("infra.local.stack", reason="runs once the local stack (infra/local) is on this branch")


def test_a_lead_gets_its_welcome_then_tips_and_one_click_stops_the_rest(local_stack) -> None:
    path = ROOT / "infra" / "demo" / "scenes" / "20_followups.py"
    spec = importlib.util.spec_from_file_location("scene_20_followups", path)
    assert spec and spec.loader
    scene = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scene)

    scene.play(local_stack)  # asserts every step of the story itself

    subjects = [m["subject"] for m in local_stack.outbox() if m["to"] == scene.GIULIA]
    assert subjects == [
        "Grazie per aver contattato Example Shop",
        "Tre consigli per ottenere il meglio da Example Shop",
    ]


def test_a_forged_unsubscribe_link_gets_a_400_page_over_http(local_stack) -> None:
    for method in ("GET", "POST"):
        answer = local_stack.request(method, "/unsubscribe", params={"token": "eyJjIjoiY3RfeCJ9.forged"})
        assert answer.status == 400
        assert answer.headers["content-type"].startswith("text/html")
        assert "<h1>" in answer.text


def test_a_complaint_ses_puts_on_the_default_bus_reaches_the_function(local_stack) -> None:
    complaint = json.loads((ROOT / "examples/ses-notifications/complaint-event.json").read_text())
    outcome = local_stack.ses_event(complaint)
    results = [(delivery["function"], delivery.get("result")) for delivery in outcome["deliveries"]]
    assert results == [("HandleSesNotificationsFunction", {"complaints": 1, "suppressed": 1})]
    assert local_stack.ses_event(complaint)["deliveries"][0]["result"] == {"complaints": 1}
    refused = local_stack.post("/_local/ses-events", json={"eventType": "Complained"})
    assert refused.status == 400 and "eventType must be one of" in refused.json()["message"]
