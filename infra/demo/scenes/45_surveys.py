"""Scene: five days after an order the customer gets a survey; a low score opens a case for the team."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

from crm_core.models.contacts import contact_id_for
from infra.local.client import LocalClient

EMAIL = "marco.survey@example.com"
LINK = re.compile(r"https?://\S+/surveys/answer\?\S+")
COMMENT = "The lamp arrived damaged: the glass is cracked and it does not work."


def play(local: LocalClient) -> None:
    earlier = local.now()
    local.set_clock("2026-11-23T09:00:00Z")
    links = _survey_links(local)
    _answer_lowest(local, links)
    _case_and_results(local)
    local.set_clock(earlier)


def _survey_links(local: LocalClient) -> dict[int, str]:
    """Order, thank-you, then on day 5 the survey email: its link per score."""
    order = {
        "event_id": "evt-survey-1",
        "type": "purchase",
        "order_id": "S-4501",
        "email": EMAIL,
        "amount": "89.00",
        "currency": "EUR",
        "occurred_at": "2026-11-23T09:00:00Z",
    }
    delivered = local.send_to_queue("OrdersQueue", order)
    assert delivered["succeeded"], delivered
    local.say("Marco buys order S-4501. The post-purchase sequence thanks him the next day, then asks:")
    for _ in range(5):  # the five-minute schedule, played once a day
        local.advance_clock("P1D")
        local.run_schedule("SendFollowupsFunction")
    surveys = [m for m in local.outbox() if m["to"] == EMAIL and "/surveys/answer?" in str(m.get("text"))]
    assert len(surveys) == 1, f"expected one survey email, found {len(surveys)}"
    survey = surveys[0]
    links = {
        int(dict(parse_qsl(urlsplit(u).query))["score"]): unescape(u) for u in LINK.findall(survey["text"])
    }
    assert sorted(links) == [1, 2, 3, 4, 5], links
    local.say(f"Day 5: {survey['subject']!r}, with one link per score (1 to 5), signed and valid 30 days.")
    return links


def _answer_lowest(local: LocalClient, links: dict[int, str]) -> None:
    path = links[1][links[1].index("/surveys/") :]
    page = local.get(path)
    assert page.status == 200 and 'value="1" checked' in page.text, page
    local.say(
        "He clicks 1: the page opens with 1 chosen and a comment box (the click itself records nothing)."
    )

    token = dict(parse_qsl(urlsplit(path).query))["token"]
    for _ in range(2):  # a double click on the button records once
        posted = local.post(
            "/surveys/answer", params={"token": token}, data={"score": "1", "comment": COMMENT}
        )
        assert posted.status == 200, posted
    local.say(f"He posts 1 with a comment: {COMMENT!r}")


def _case_and_results(local: LocalClient) -> None:
    contact_id = contact_id_for(EMAIL)
    cases = [
        c
        for c in local.get("/cases", params={"status": "open"}).json()["cases"]
        if c["contact_id"] == contact_id
    ]
    assert len(cases) == 1, f"expected exactly one case, found {len(cases)}"
    case = cases[0]
    assert case["category"] == "product_quality", case
    local.say(
        f"Case {case['case_id']} opened: category {case['category']} (his comment), team {case['team']}, "
        f"priority {case['priority']} (one above his usual), first answer due {case['first_response_due']}."
    )
    stats = local.get("/surveys/results", params={"survey": "after-purchase", "from": "2026-11-01"}).json()
    local.say(
        f"GET /surveys/results: sent {stats['sent']}, answered {stats['answered']}, "
        f"response rate {stats['response_rate']}%, CSAT {stats['csat']}%."
    )
