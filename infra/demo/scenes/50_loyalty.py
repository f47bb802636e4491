"""Loyalty: a purchase on the orders queue earns points and a tier, once, however often it arrives."""

from __future__ import annotations

from typing import Any

from crm_core.models.contacts import contact_id_for
from infra.demo import when
from infra.local.client import LocalClient

EMAIL = "giulia.loyal@example.com"
ORDERS = "OrdersQueue"


def order_event(**fields: Any) -> dict[str, Any]:
    return {"email": EMAIL, "currency": "EUR", "occurred_at": "2026-11-23T09:15:00Z", **fields}


def play(local: LocalClient) -> None:
    moved = local.set_clock("2026-11-23T10:00:00Z")
    local.say(f"A story of its own: the clock goes to {when(moved)}, when a shop's first order arrives.")
    base = f"/contacts/{contact_id_for(EMAIL)}/loyalty"
    earn(local, base)
    spend(local, base)
    expire(local, base)


def earn(local: LocalClient, base: str) -> None:
    purchase = order_event(event_id="evt-9001", type="purchase", order_id="G-9001", amount="620.00")
    local.say("The shop posts a purchase on OrdersQueue, for an address the CRM never saw:")
    order, event = purchase["order_id"], purchase["event_id"]
    local.say(f"    order {order}, EUR {purchase['amount']}, by {purchase['email']} (event {event})")
    delivered = local.send_to_queue(ORDERS, purchase)
    assert delivered["succeeded"] and not delivered["dead_lettered"], delivered

    account = local.get(base).json()
    expiry = account["next_expiry"]
    local.say(
        f"UpdateLoyaltyFunction earned {account['balance']} points (620 at 1 point per euro, rounded down,"
        f" + 100 first-purchase bonus); tier {account['tier']}; {expiry['points']} points expire on"
        f" {expiry['on']}."
    )
    assert (account["balance"], account["tier"]) == (720, "silver"), account

    emails = [m for m in local.outbox() if EMAIL in str(m.get("to"))]
    assert [m["subject"] for m in emails] == ["Welcome to Silver!"], emails
    local.say(f"620 qualifying points reach silver at once; the outbox holds: {emails[0]['subject']!r}")

    local.send_to_queue(ORDERS, purchase)
    again = local.get(base).json()
    assert again["balance"] == 720, again
    local.say(
        "The shop's retry delivers the same purchase again: the ledger finds its entry, nothing changes."
    )


def spend(local: LocalClient, base: str) -> None:
    headers = {"Idempotency-Key": "checkout-G-9100"}
    spent = local.post(f"{base}/redemptions", json={"points": 200}, headers=headers)
    retried = local.post(f"{base}/redemptions", json={"points": 200}, headers=headers)
    assert spent.status == retried.status == 201 and retried.json() == spent.json(), retried.text
    local.say(
        f"Checkout redeems 200 points twice with one Idempotency-Key: 201 both times, one redemption,"
        f" balance {spent.json()['balance']}."
    )
    short = local.post(f"{base}/redemptions", json={"points": 5000}, headers={"Idempotency-Key": "big"})
    assert short.status == 409, short.text
    local.say(f"Redeeming 5000 is refused with {short.status}: {short.json()['errors'][0]['message']}.")

    refund = order_event(
        event_id="evt-9002", type="refund", order_id="G-9001", refund_id="R-1", amount="124.00"
    )
    local.send_to_queue(ORDERS, refund)
    after_refund = local.get(base).json()
    assert after_refund["balance"] == 376, after_refund  # 720 x 124/620 = 144 taken back
    local.say("A refund of EUR 124.00 takes back 144 points (a fifth of what the order earned): 376 left.")

    poison = order_event(event_id="evt-9003", type="purchase", order_id="G-9003", amount=12.5)
    parked = local.send_to_queue(ORDERS, poison)
    assert parked["dlq_depth"] >= 1, parked
    local.say(
        "A malformed event (amount as a JSON number) is retried, then parked in the DLQ with its reason."
    )

    history = local.get(f"{base}/history", params={"limit": 10}).json()["entries"]
    local.say("The ledger, newest first: " + ", ".join(f"{e['id']} {e['points']:+d}" for e in history) + ".")
    assert [e["kind"] for e in history] == ["refund", "redeem", "purchase"], history


def expire(local: LocalClient, base: str) -> None:
    local.set_clock("2027-10-24T03:00:00Z")
    local.run_schedule("ExpirePointsFunction")
    reminders = [m for m in local.outbox() if EMAIL in str(m.get("to")) and "expire" in m["subject"]]
    assert len(reminders) == 1, reminders
    local.say(f"Eleven months on, the daily run sends: {reminders[0]['subject']!r}")
    local.set_clock("2027-11-23T03:00:00Z")
    outcome = local.run_schedule("ExpirePointsFunction")
    expired = local.get(base).json()
    assert expired["balance"] == 0, (expired, outcome)
    local.say("On 2027-11-23 the unused 376 points expire; the balance is 0 and the ledger says why.")
    subjects = [m["subject"] for m in local.outbox() if EMAIL in str(m.get("to"))]
    assert subjects[-1] == "Your membership is now Bronze", subjects
    assert expired["tier"] == "bronze", expired
    local.say(
        "A year after reaching silver, the last 12 months no longer qualify (the refund took 124 euros"
        f" back): the tier falls to bronze, and the outbox holds {subjects[-1]!r}."
    )
