"""Lifecycle: a customer drifts into dissolution, the daily review notices, and win-back goes out."""

from __future__ import annotations

from typing import Any

from crm_core.models.contacts import contact_id_for
from infra.local.client import LocalClient

EMAIL = "marco.drift@example.com"
ORDERS = "OrdersQueue"


def purchase(order_id: str, amount: str, at: str) -> dict[str, Any]:
    return {"event_id": f"evt-{order_id}", "type": "purchase", "order_id": order_id, "email": EMAIL,
            "amount": amount, "currency": "EUR", "occurred_at": at}  # fmt: skip


def play(local: LocalClient) -> None:
    earlier = local.now()
    path = f"/contacts/{contact_id_for(EMAIL)}/lifecycle"

    local.set_clock("2028-03-01T10:00:00Z")
    local.send_to_queue(ORDERS, purchase("M-1", "80.00", "2028-03-01T09:30:00Z"))
    local.set_clock("2028-03-31T10:00:00Z")
    local.send_to_queue(ORDERS, purchase("M-2", "40.00", "2028-03-31T09:30:00Z"))
    shown = local.get(path).json()
    assert shown["stage"] == "expansion", shown
    local.say(
        f"Marco buys twice, 30 days apart: stage {shown['stage']} ({shown['reason']}), 12-month value EUR"
        f" {shown['value']['monetary_12m']} over {shown['value']['frequency_12m']} orders, usual interval"
        f" {shown['value']['usual_interval_days']} days."
    )

    for day in ("2028-04-01", "2028-05-01", "2028-06-01"):  # it runs daily; here only when it has work
        local.set_clock(f"{day}T03:15:00Z")
        local.run_schedule("TrackLifecycleFunction")
    drifted = local.get(path).json()
    assert drifted["stage"] == "dissolution", drifted
    local.say(
        f"Then silence. The daily review (sparse index, no scan) finds him on {drifted['since'][:10]}:"
        f" {drifted['reason']} (twice his usual interval; 90 days at most). Stage: dissolution."
    )

    local.set_clock("2028-06-01T09:00:00Z")
    local.run_schedule("SendFollowupsFunction")
    mail = [m for m in local.outbox() if EMAIL in str(m.get("to")) and "miss you" in m["subject"]]
    assert len(mail) == 1, mail
    local.say(f"Entering dissolution enrolled him in win-back; the outbox holds {mail[0]['subject']!r}.")

    local.set_clock("2028-06-03T10:00:00Z")
    local.send_to_queue(ORDERS, purchase("M-3", "55.00", "2028-06-03T09:45:00Z"))
    back = local.get(path).json()
    assert back["stage"] in {"expansion", "commitment"}, back
    moves = " -> ".join(f"{c['to']} ({c['at'][:10]}: {c['reason']})" for c in back["history"])
    local.say(f"He buys again and the stage moves back. History with reasons: {moves}.")
    local.say(
        f"RFM {back['rfm']}, segment {back['segment']}; each change was published as crm.lifecycle.changed."
    )
    local.set_clock(earlier)
