"""Loyalty through the local stack over HTTP: the demo scene, then what a shop integration relies on."""

from __future__ import annotations

import pytest

from crm_core.models.contacts import contact_id_for
from infra import demo
from infra.cli import main
from infra.local.client import LocalClient

pytestmark = pytest.mark.e2e


def test_the_loyalty_scene_plays_as_told(local_stack: LocalClient) -> None:
    scene = demo.load(demo.SCENES / "50_loyalty.py")
    scene.play(local_stack)  # raises AssertionError when what it tells did not happen


def test_a_batch_with_a_poison_message_parks_it_and_applies_the_rest_once(local_stack: LocalClient) -> None:
    local_stack.set_clock("2026-11-23T10:00:00Z")
    good = {
        "event_id": "evt-e2e-1",
        "type": "purchase",
        "order_id": "E2E-1",
        "email": "e2e.buyer@example.com",
        "amount": "25.00",
        "currency": "EUR",
        "occurred_at": "2026-11-23T09:00:00Z",
    }
    before = next(q for q in local_stack.queues() if q["logical_id"] == "OrdersQueue")["dlq_depth"]

    poisoned = local_stack.send_to_queue("OrdersQueue", "not json at all")
    applied = local_stack.send_to_queue("OrdersQueue", good)
    replayed = local_stack.send_to_queue("OrdersQueue", good)

    assert poisoned["dlq_depth"] == before + 1
    assert applied["succeeded"] and replayed["succeeded"]
    (parked,) = poisoned["messages"]
    assert parked["outcome"] == "parked" and "invalid order event" in parked["reason"], parked
    assert poisoned["succeeded"] == [] and poisoned["dead_lettered"] == [parked["message_id"]]
    assert [m["outcome"] for m in applied["messages"]] == ["applied"]
    assert [m["outcome"] for m in replayed["messages"]] == ["replayed"]
    balance = local_stack.get(f"/contacts/{contact_id_for('e2e.buyer@example.com')}/loyalty").json()
    assert balance["balance"] == 125  # 25 + the first-purchase bonus, once


def test_a_redemption_without_an_idempotency_key_is_400(local_stack: LocalClient) -> None:
    path = f"/contacts/{contact_id_for('e2e.buyer@example.com')}/loyalty/redemptions"
    response = local_stack.post(path, json={"points": 10})
    assert response.status == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_an_operator_shows_and_adjusts_points_from_the_command_line(local_stack: LocalClient, capsys) -> None:
    url = ["--endpoint", local_stack.base_url]
    email = "e2e.buyer@example.com"
    at = "2026-11-23T11:00:00Z"  # a retry is the same event: same id, same time
    adjust = [
        "points",
        "adjust",
        email,
        "40",
        "--reason",
        "parcel arrived late",
        "--event-id",
        "adj-1",
        "--at",
        at,
    ]

    assert main([*adjust, *url]) == 0
    assert main([*adjust, *url]) == 0
    assert main(["points", "show", email, *url]) == 0

    out = capsys.readouterr().out
    assert "adjustment adj-1 of +40 points" in out and ": applied" in out
    assert "adj-1 of +40 points for e2e.buyer@example.com: already applied before" in out
    assert "balance 165 points" in out  # 125 + 40, once
    assert "adjust#adj-1" in out and "parcel arrived late" in out
    assert main(["points", "show", "nobody@example.com", *url]) == 1
    capsys.readouterr()

    parked = ["points", "adjust", "nobody@example.com", "5", "--reason", "goodwill", "--event-id", "adj-2"]
    assert main([*parked, *url]) == 1  # never "applied" for what was dead-lettered
    out, err = capsys.readouterr()
    assert "applied" not in out
    assert err.startswith("crm: adjustment adj-2 NOT applied, parked in OrdersDeadLetterQueue: ")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
