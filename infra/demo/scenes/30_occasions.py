"""Occasions: a birthday greeting on the contact's own morning, once, in her language."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.local.client import LocalClient

EMAIL = "sari.wulandari@example.com"
FUNCTION = "SendOccasionsFunction"


def _create_contact(local: LocalClient) -> None:
    """The contact form's JSON post, with a birthday and a time zone."""
    lead = {
        "email": EMAIL,
        "first_name": "Sari",
        "birthday": "1994-05-17",
        "time_zone": "Asia/Jakarta",
        "locale": "id",
        "consent": True,
        "form_id": "demo-occasions",
    }
    answer = local.post("/leads", json=lead, headers={"accept": "application/json"})
    assert answer.status in (200, 201), f"POST /leads answered {answer.status}: {answer.text}"
    local.say(
        f"POST /leads -> {answer.status}: Sari, born 17 May, lives in Jakarta (UTC+7) and speaks Indonesian."
    )


def _mine(local: LocalClient) -> list[dict[str, Any]]:
    return [mail for mail in local.outbox() if EMAIL in mail["to"]]


def play(local: LocalClient) -> None:
    _create_contact(local)
    before = len(_mine(local))

    local.say("The occasions run is hourly. 16 May, 22:05 UTC: in Jakarta it is already 17 May, 05:05.")
    local.set_clock("2027-05-16T22:05:00Z")
    early = local.run_schedule(FUNCTION)
    assert early["status"] == "succeeded", early
    assert len(_mine(local)) == before, "no greeting before 09:00 local time"
    local.say(f"  run: {early['result']['due']} due, {early['result']['sent']} sent. Too early to wake her.")
    _birthday_morning(local, before)

    again = local.run_schedule(FUNCTION)
    assert again["status"] == "succeeded" and again["result"]["sent"] == 0, again
    assert len(_mine(local)) == before + 1, "a second run sends nothing new"
    local.say("Run again (a retry, a replay): 0 sent. The ledger holds (Sari, birthday, 2027) once.")

    local.set_clock("2027-05-18T02:05:00Z")
    next_day = local.run_schedule(FUNCTION)
    assert next_day["status"] == "succeeded" and len(_mine(local)) == before + 1, next_day
    local.say("The next morning: nothing. Next year, on 17 May in Jakarta, she hears from us again.")


def _birthday_morning(local: LocalClient, before: int) -> None:
    """Her greeting at 09:05 in Jakarta, with the birthday bonus and a visible unsubscribe link."""
    local.say("17 May, 02:05 UTC: 09:05 in Jakarta, her birthday morning.")
    local.set_clock("2027-05-17T02:05:00Z")
    morning = local.run_schedule(FUNCTION)
    assert morning["status"] == "succeeded", morning
    greetings = _mine(local)[before:]
    assert len(greetings) == 1, f"one greeting expected, the outbox has {len(greetings)}"
    mail = greetings[0]
    assert mail["subject"] == "Selamat ulang tahun, Sari!", mail["subject"]
    assert "/unsubscribe?token=" in mail["text"], "a visible unsubscribe link"
    local.say(f"  run: {morning['result']['sent']} sent. The outbox has: {mail['subject']!r} to {EMAIL}")
    lines = [line for line in mail["text"].splitlines() if line.strip()]
    bonus = [line for line in lines if "poin bonus" in line]
    assert bonus, "the birthday bonus from the loyalty ledger is named in the greeting"
    for line in [*lines[:2], *bonus, lines[-1]]:  # greeting, first words, the points, unsubscribe link
        local.say(f"    | {line}")
