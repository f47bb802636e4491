"""Leads from web forms: a post becomes a contact, a second post merges into it, a bot is ignored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.commands.contacts import contact_view
from infra.commands.target import Target

if TYPE_CHECKING:
    from infra.local.client import LocalClient

EMAIL = "zoe.muller@example.com"


def play(local: LocalClient) -> None:
    local.say("A visitor sends the contact form; its JavaScript posts JSON to POST /leads.")
    first = local.post(
        "/leads",
        json={
            "email": EMAIL,
            "first_name": "Zoë",
            "last_name": "Müller-Łukasiewicz",
            "phone": "030 1234567",
            "locale": "de",
            "time_zone": "Europe/Berlin",
            "birthday": "--05-17",
            "consent": True,
            "form_id": "website-contact",
            "source_page": f"{local.base_url}/?utm_source=newsletter&utm_campaign=spring",
        },
        headers={"accept": "application/json"},
    )
    assert first.status == 201, f"a new lead is answered 201, got {first.status}: {first.text}"
    contact_id = first.json()["contact_id"]
    local.say(f"201 Created, contact id {contact_id} (a hash of the address: no email in keys or URLs).")
    _stored_contact(local)
    _merge_and_replay(local)

    bot = local.post("/leads", json={"email": "bot@example.com", "website": "http://cheap-pills.example"})
    assert bot.status == 201 and contact_view("bot@example.com") is None, bot.text
    local.say("A bot fills the hidden 'website' field: it sees a normal 201, and nothing is stored.")


def _stored_contact(local: LocalClient) -> None:
    """The contact as `crm contacts show` reads it: E.164 phone, consent, first touch, welcome series."""
    Target(endpoint=local.base_url).connect()  # read the contact as `crm contacts show` does
    view = contact_view(EMAIL)
    assert view is not None and view["phone"] == "+49301234567", view
    assert [e["enrollment_key"] for e in view["enrollments"]] == ["welcome"], view
    local.say("Stored, phone in E.164, consent recorded, enrolled in the welcome series:")
    touch, (enrollment,) = view["first_touch"], view["enrollments"]
    campaign = " and ".join(f"{k.removeprefix('utm_')} {v}" for k, v in sorted(touch.get("utm", {}).items()))
    for label, value in [
        ("name", f"{view['first_name']} {view['last_name']}"),
        ("phone", view["phone"]),
        ("birthday", "17 May (no year given)" if view["birthday"] == "--05-17" else view["birthday"]),
        ("language", f"{view['locale']}, time zone {view['time_zone']}"),
        ("consent", f"given on the form {view['consent']['form_id']}"),
        ("first touch", f"{touch['form_id']}, {campaign}"),
        ("sequence", f"{enrollment['enrollment_key']}, {enrollment['status']}, first step due now"),
    ]:
        local.say(f"    {label:<12} {value}")
    local.say("(`crm contacts show zoe.muller@example.com` prints all of it.)")


def _merge_and_replay(local: LocalClient) -> None:
    """A plain HTML form post merges into the contact; the same post again changes nothing."""
    local.say("Later she signs up for the newsletter from a browser without JavaScript (a plain form post).")
    newsletter = {
        "email": EMAIL.upper(),
        "company": "Łódź Widgets",
        "first_name": "",
        "form_id": "newsletter",
    }
    browser = {"origin": local.base_url, "referer": f"{local.base_url}/newsletter"}
    second = local.post("/leads", data=newsletter, headers={**browser, "accept": "text/html"})
    assert second.status in (200, 303), (
        f"a merge is answered 200 (or 303 to a thank-you page), got {second.status}"
    )
    merged = contact_view(EMAIL)
    assert merged is not None and merged["posts"] == 2 and merged["first_name"] == "Zoë", merged
    assert merged["first_touch"]["form_id"] == "website-contact", merged
    assert merged["last_touch"]["form_id"] == "newsletter", merged
    local.say(
        f"{second.status}: merged into the same contact. The empty first name did not erase 'Zoë', "
        "the company was added, the first touch (website-contact, utm spring) kept, the last touch updated."
    )

    again = local.post("/leads", data=newsletter, headers={**browser, "accept": "application/json"})
    replayed = contact_view(EMAIL)
    assert again.status == 200 and replayed is not None and replayed["posts"] == 2, again.text
    local.say("The same post arrives again (a retry): the same answer, nothing counted twice.")
