"""A complaint email becomes a routed, acknowledged case; the reply lands on the same case."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.demo import when
from infra.mail import find_key, message

if TYPE_CHECKING:
    from infra.local.client import LocalClient

CUSTOMER = "giulia.demo@example.it"


def _email(subject: str, body: str, *, to: str) -> bytes:
    return message(f"Giulia Verdi <{CUSTOMER}>", to, subject, body)


def _header(message: dict[str, Any], name: str) -> str:
    headers = message.get("headers") or {}
    if isinstance(headers, dict):
        return next((str(v) for k, v in headers.items() if k.lower() == name.lower()), "")
    return next((str(v) for k, v in headers if str(k).lower() == name.lower()), "")


def play(local: LocalClient) -> None:
    local.say("Complaints by email: Giulia writes to support that her parcel has not arrived.")
    support = "support@example.com"
    complaint = _email(
        "Pacco non arrivato - ordine A-1001",
        "Buongiorno,\nho ordinato due settimane fa e il pacco non è ancora arrivato.\n"
        "Il tracciamento è fermo da giorni. Potete aiutarmi?\nGiulia",
        to=support,
    )
    received = local.deliver_email(complaint)
    case_id = find_key(received, "case_id")
    assert case_id, f"the inbox did not make a case: {received}"
    case = local.get(f"/cases/{case_id}").json()
    assert case["status"] == "open" and case["category"] == "delivery", case
    local.say(
        f"Case {case_id}: category {case['category']}, team {case['team']}, priority {case['priority']}, "
        f"first answer due {when(case['first_response_due'])}."
    )
    _reply_lands_on_case(local, case_id)


def _reply_lands_on_case(local: LocalClient, case_id: str) -> None:
    """The acknowledgement's Reply-To threads her answer onto the same case, acknowledged once."""
    acks = [m for m in local.outbox() if f"[Case #{case_id}]" in str(m.get("subject", ""))]
    assert len(acks) == 1, f"expected one acknowledgement, found {len(acks)}"
    ack = acks[0]
    reply_to = _header(ack, "Reply-To")
    assert reply_to.lower().startswith(f"support+{case_id.lower()}."), reply_to
    local.say(f"Giulia got the acknowledgement in Italian: {ack['subject']!r}, replies go to {reply_to}.")

    answer = _email(
        f"Re: {ack['subject']}",
        "Grazie. Il numero di tracciamento è 1Z999AA10123456784.\nGiulia",
        to=reply_to,
    )
    threaded = local.deliver_email(answer)
    assert find_key(threaded, "case_id") == case_id, f"the reply opened another case: {threaded}"
    events = local.get(f"/cases/{case_id}").json()["events"]
    inbound = [e for e in events if e["kind"] == "inbound"]
    assert len(inbound) == 2, events
    assert len([m for m in local.outbox() if f"[Case #{case_id}]" in str(m.get("subject", ""))]) == 1
    local.say(f"Her reply landed on case {case_id}, with no second acknowledgement:")
    for line in str(inbound[-1]["text"]).splitlines():
        local.say(f"    > {line}")
