"""Contact 360 and account owners: a large first order gets a named owner and a call task, the agent's
note joins the timeline, `GET /contacts/{id}` shows it all in one answer, and the owner's morning
digest goes out at 08:00 in the owner's time zone, once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.commands.contacts import format_360

if TYPE_CHECKING:
    from infra.local.client import LocalClient

EMAIL = "marta.bianchi@example.com"
DIGEST = "SendOwnerDigestsFunction"


def play(local: LocalClient) -> None:
    earlier = local.now()
    local.set_clock("2026-11-23T10:00:00Z")
    lead = local.post(
        "/leads",
        json={"email": EMAIL, "first_name": "Marta", "last_name": "Bianchi", "birthday": "1988-11-25",
              "locale": "it", "consent": True, "form_id": "website-contact"},
    )  # fmt: skip
    assert lead.status in (200, 201), lead.text
    contact_id = lead.json()["contact_id"]
    purchase = {"event_id": "evt-7001", "type": "purchase", "order_id": "M-7001", "email": EMAIL,
                "amount": "750.00", "currency": "EUR", "occurred_at": "2026-11-23T09:40:00Z"}  # fmt: skip
    delivered = local.send_to_queue("OrdersQueue", purchase)
    assert delivered["succeeded"], delivered
    local.say("Marta's first order is EUR 750.00: above the round-robin threshold (500) and the")
    local.say("first-purchase rule (300) of owners.yaml, so she gets an owner and her owner a call task.")
    view = _note_and_360(local, contact_id)
    _digest_and_task(local, view)
    local.set_clock(earlier)


def _note_and_360(local: LocalClient, contact_id: str) -> dict[str, Any]:
    """An agent's note (sent twice, kept once), then the 360 found by address."""
    base = f"/contacts/{contact_id}"
    note = {"text": "Asked about gift wrapping for December.", "author": "Sara (support)"}
    first = local.post(f"{base}/notes", json=note, headers={"Idempotency-Key": "note-m-1"})
    again = local.post(f"{base}/notes", json=note, headers={"Idempotency-Key": "note-m-1"})
    assert first.status == again.status == 201 and first.json() == again.json(), again.text
    local.say("An agent adds a note twice with one Idempotency-Key: one note in the timeline.")

    view: dict[str, Any] = local.get("/contacts", params={"email": "Marta.Bianchi@EXAMPLE.com"}).json()
    assert view["contact_id"] == contact_id, view
    owner = view["owner"]
    assert owner and owner["set_by"] == "round-robin:key-accounts", view
    (task,) = view["open_tasks"]
    assert task["created_by"] == "rule:first-purchase" and task["due"] == "2026-11-24", task
    local.say("GET /contacts?email=Marta.Bianchi@EXAMPLE.com (normalized like every entry point) answers:")
    for line in format_360(view).splitlines():
        local.say("    " + line)
    return view


def _digest_and_task(local: LocalClient, view: dict[str, Any]) -> None:
    """The owner's digest at 08:00 local time, once; the task done."""
    owner, (task,) = view["owner"], view["open_tasks"]
    base = f"/contacts/{view['contact_id']}"
    local.set_clock("2026-11-24T07:00:00Z")  # 08:00 in Rome and Berlin
    before = len(local.outbox())
    local.run_schedule(DIGEST)
    local.run_schedule(DIGEST)  # the hourly schedule delivered twice
    digests = [m for m in local.outbox()[before:] if owner["email"] in str(m.get("to"))]
    assert len(digests) == 1, digests
    local.say(f"At 08:00 {owner['time_zone']} the hourly run mails {owner['name']} ({owner['language']}),")
    local.say(f"once although it ran twice: {digests[0]['subject']!r}")
    for line in str(digests[0].get("text", "")).strip().splitlines()[:9]:
        local.say("    " + line)

    done = local.post(f"{base}/tasks/{task['task_id']}/complete")
    assert done.status == 200 and done.json()["status"] == "done", done.text
    local.say(f"{owner['name']} calls Marta and completes the task: it leaves tomorrow's digest.")
