"""Follow-ups: a lead's welcome, tips two days later, a one-click unsubscribe, a bounce.

A new lead gets its welcome, then tips two days later; one click unsubscribes it and the check-in
never comes. A bounced address is suppressed and gets nothing more.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.local.client import LocalClient

SENDER = "SendFollowupsFunction"
GIULIA = "giulia.rossi@example.it"
MARCO = "marco.bianchi@example.it"
MONDAY = "2027-03-01T08:30:00Z"  # 09:30 in Rome


def _new_lead(local: LocalClient, email: str, first_name: str) -> None:
    answer = local.post(
        "/leads",
        json={
            "email": email,
            "first_name": first_name,
            "locale": "it",
            "time_zone": "Europe/Rome",
            "consent": True,
            "form_id": "website-contact",
        },
        headers={"accept": "application/json"},
    )
    assert answer.status in (200, 201), f"POST /leads answered {answer.status}: {answer.text}"


def _mail_to(local: LocalClient, address: str) -> list[dict[str, Any]]:
    return [mail for mail in local.outbox() if address in str(mail.get("to", ""))]


def _run_sender(local: LocalClient) -> dict[str, Any]:
    """One run of the five-minute schedule; its report ({"outcomes": {"sent": 1}, ...})."""
    run = local.run_schedule(SENDER)
    assert run["status"] == "succeeded", run
    return dict(run.get("result") or {})


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def play(local: LocalClient) -> None:
    local.set_clock(MONDAY)
    local.say("Monday 1 March 2027, 09:30 in Rome. Giulia and Marco send the contact form (POST /leads).")
    _new_lead(local, GIULIA, "Giulia")
    _new_lead(local, MARCO, "Marco")
    _welcome(local)
    _bounce(local)
    _unsubscribe(local, _tips(local))

    local.set_clock("2027-03-08T08:35:00Z")
    _run_sender(local)
    assert len(_mail_to(local, GIULIA)) == 2, "no check-in after the unsubscribe"
    local.say("A week after her first contact the check-in would be due: it is not sent. Her welcome series")
    local.say("ended with the unsubscribe; an order's thank-you (a service message) would still reach her.")


def _welcome(local: LocalClient) -> None:
    first = _run_sender(local)
    welcome = _mail_to(local, GIULIA)
    assert [m["subject"] for m in welcome] == ["Grazie per aver contattato Example Shop"], welcome
    assert "List-Unsubscribe" not in welcome[0]["headers"], (
        "the welcome answers her form: no marketing headers"
    )
    local.say(
        f"The five-minute follow-up run sends Giulia her welcome, in Italian: {welcome[0]['subject']!r}"
    )
    sent = int((first.get("outcomes") or {}).get("sent", 0))
    local.say(f"The run sent {_count(sent, 'welcome')}: every new lead of the demo so far gets its own.")

    replays = [_run_sender(local).get("outcomes") or {} for _ in range(2)]
    assert len(_mail_to(local, GIULIA)) == 1, "a replayed run sends nothing new"
    again = sum(int(r.get("sent", 0)) for r in replays)
    local.say(f"The run fires twice more (as EventBridge may): {_count(again, 'email')} sent again.")


def _bounce(local: LocalClient) -> None:
    bounce = {
        "eventType": "Bounce",
        "bounce": {
            "feedbackId": "demo-bounce-1",
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": MARCO, "status": "5.1.1", "action": "failed"}],
            "timestamp": MONDAY,
        },
        "mail": {"messageId": "demo-message-1", "destination": [MARCO], "timestamp": MONDAY},
    }
    delivered = local.ses_event(bounce).get("deliveries", [])
    answers = [d.get("result", d) for d in delivered] if isinstance(delivered, list) else [delivered]
    suppressed = sum(int(a.get("suppressed", 0)) for a in answers if isinstance(a, dict))
    assert suppressed == 1, answers
    local.say("Marco's address does not exist: SES publishes a permanent bounce, and the address is")
    local.say("suppressed: nothing will be sent to it again.")


def _tips(local: LocalClient) -> str:
    """The tips email two days later, marketing with its unsubscribe link; the link."""
    local.set_clock("2027-03-03T08:35:00Z")  # the first five-minute run after two days
    _run_sender(local)
    tips = _mail_to(local, GIULIA)[1:]
    assert [m["subject"] for m in tips] == ["Tre consigli per ottenere il meglio da Example Shop"], tips
    headers = tips[0]["headers"]
    assert headers.get("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click", headers
    link = str(headers["List-Unsubscribe"]).strip("<>")
    assert link in tips[0]["text"] and re.search(r"unsubscribe\?token=", tips[0]["html"]), (
        "a visible link too"
    )
    assert len(_mail_to(local, MARCO)) == 1, "the bounced address gets no tips"
    local.say("Two days later, Wednesday 09:35: the tips email, marketing, with a visible unsubscribe link")
    local.say("and List-Unsubscribe + List-Unsubscribe-Post headers. Marco, bounced, gets nothing.")
    return link


def _unsubscribe(local: LocalClient, link: str) -> None:
    path = link[link.index("/unsubscribe") :]
    page = local.get(path, headers={"accept-language": "it"})
    assert page.status == 200 and "Annulla l" in page.text, page.text
    local.say("A mail scanner (or Giulia) opens the link: GET shows a confirmation page and changes nothing.")

    done = local.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status == 200 and "Iscrizione annullata" in done.text, done.text
    local.say("Her mail client sends the RFC 8058 one-click POST: 'Iscrizione annullata', effective at once.")
