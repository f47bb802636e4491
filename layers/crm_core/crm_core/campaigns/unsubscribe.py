"""Unsubscribe links: GET shows a confirmation and changes nothing, POST unsubscribes.

Mail scanners and link previews follow every link in a message, so only a POST acts: the button
on the confirmation page, or a mail client's RFC 8058 one-click POST (body
`List-Unsubscribe=One-Click`) to the `List-Unsubscribe` URL. The token in the link is signed
(crm_core.messaging.tokens); a forged or altered one gets a 400 page. Pages are in the contact's
language when known, else the browser's.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from functools import cache
from pathlib import Path

from pynamodb.exceptions import DoesNotExist

from crm_core import clock
from crm_core.campaigns import definitions
from crm_core.campaigns.reactions import stop_marketing
from crm_core.checks import read_yaml
from crm_core.contacts import aliases, history
from crm_core.errors import InvalidToken
from crm_core.http import page
from crm_core.http.answer import HttpAnswer
from crm_core.messaging import suppressions, tokens
from crm_core.messaging.delivery import UNSUBSCRIBE_PURPOSE
from crm_core.messaging.templates import locale_chain
from crm_core.models import Contact
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings

PAGES_DIR = Path(__file__).parent / "pages"
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token must not leak to any other site
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def page_answer(status: int, html: str) -> HttpAnswer:
    """An HTML page of this family (unsubscribe, consent, survey) with its headers."""
    return HttpAnswer(status, html, HEADERS["Content-Type"], dict(HEADERS))


@cache
def _strings() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = read_yaml(PAGES_DIR / "strings.yaml")
    return data


def browser_locales(accept_language: str | None) -> list[str]:
    """Language tags of an Accept-Language header, most preferred first ("de-CH,de;q=0.9" -> [de-ch, de])."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag.lower()))
    return [tag for _, _, tag in sorted(ranked)]


def page_locale(
    contact: Contact | None, accept_language: str | None, known: Collection[str] | None = None
) -> str:
    """The pages' language: the contact's, else the browser's, else the default; among the `known`
    locales (those of these pages' strings when not given)."""
    known = _strings() if known is None else known
    wanted = [contact.locale] if contact is not None and contact.locale else []
    for tag in [*wanted, *browser_locales(accept_language)]:
        for candidate in locale_chain(tag, tag)[:2]:
            if candidate in known:
                return candidate
    return get_settings().default_locale if get_settings().default_locale in known else "en"


def render_page(
    status: int,
    locale: str,
    title: str,
    paragraphs: list[str],
    *,
    button: str = "",
    note: str = "",
    token: str = "",
) -> HttpAnswer:
    """A page of this family (unsubscribe, consent confirmation): `{brand}` and `{support}` are filled in
    the paragraphs; a `button` posts back to the same path with the token."""
    fill = {"brand": definitions.brand().get("name", ""), "support": get_settings().support_address}
    html = page.render(
        locale, title, [p.format(**fill) for p in paragraphs], button=button, note=note, token=token
    )
    return page_answer(status, html)


def strings(locale: str) -> dict[str, str]:
    """The pages' wording in `locale` (one of page_locale's answers)."""
    return _strings()[locale]


def _page(status: int, name: str, locale: str, token: str = "", button: bool = False) -> HttpAnswer:
    words = _strings()[locale]
    paragraphs = {
        "confirm": [words["confirm_body"]],
        "done": [words["done_body"], words["done_mistake"]],
        "already": [words["already_body"]],
        "invalid": [words["invalid_body"]],
    }[name]
    return render_page(
        status,
        locale,
        words[f"{name}_title"],
        paragraphs,
        button=words["confirm_button"] if button else "",
        note=words["confirm_keep"] if button else "",
        token=token,
    )


def _verified(token: str | None) -> tuple[str, str]:
    """(contact id, message kind) from a token; raises InvalidToken if forged, altered or malformed."""
    payload = tokens.verify(token or "", UNSUBSCRIBE_PURPOSE)
    contact_id, kind = payload.get("c"), payload.get("k", "")
    if not isinstance(contact_id, str) or not contact_id.startswith("ct_") or not isinstance(kind, str):
        raise InvalidToken("token without a contact")
    return aliases.current_id(contact_id), kind  # a link mailed before the ids were re-keyed


def _contact(contact_id: str) -> Contact | None:
    try:
        return Contact.get(contact_id, consistent_read=True)
    except DoesNotExist:
        return None


def confirmation_page(token: str | None, accept_language: str | None = None) -> HttpAnswer:
    """GET: the page that asks; changes nothing. 400 for a bad token. DynamoDB errors pass."""
    count("UnsubscribePagesShown")
    try:
        contact_id, _ = _verified(token)
    except InvalidToken:
        return _page(400, "invalid", page_locale(None, accept_language))
    contact = _contact(contact_id)
    locale = page_locale(contact, accept_language)
    if contact is not None and contact.marketing_opt_out:
        return _page(200, "already", locale)
    return _page(200, "confirm", locale, token=str(token), button=True)


def unsubscribe(
    token: str | None, accept_language: str | None = None, *, now: datetime | None = None
) -> HttpAnswer:
    """POST (the page's button or RFC 8058 one-click): suppress marketing to the address, mark the
    contact opted out and end its marketing sequences, at once. Safe to repeat. 400 for a bad token;
    DynamoDB errors pass (the client may retry)."""
    try:  # each POST counts as Unsubscribed or UnsubscribeRefused (a contact erased since: a log line)
        contact_id, kind = _verified(token)
    except InvalidToken:
        count("UnsubscribeRefused")
        get_logger().warning("unsubscribe with an invalid token refused")
        return _page(400, "invalid", page_locale(None, accept_language))
    now = now or clock.now()
    contact = _contact(contact_id)
    if contact is not None:
        suppressions.suppress(
            contact.email, scope=suppressions.SCOPE_MARKETING, reason="unsubscribed", now=now
        )
        if not contact.marketing_opt_out or contact.consent_pending is not None:
            # A consent link sent before this unsubscribe must not undo it: the pending consent goes too.
            contact.update(
                actions=[
                    Contact.marketing_opt_out.set(True),
                    Contact.consent_pending.remove(),
                    Contact.updated_at.set(now),
                    *history.append(
                        contact, [history.event("unsubscribed", history.stamp(now), source="link")]
                    ),
                ],
                condition=Contact.contact_id.exists(),
                add_version_condition=False,  # the opt-out wins over a concurrent edit; the version moves
            )
        ended = stop_marketing(contact_id, now=now)
        count("Unsubscribed")
        get_logger().info(
            "unsubscribed", extra={"contact_id": contact_id, "kind": kind, "sequences_ended": ended}
        )
    else:
        get_logger().info("unsubscribe for a contact no longer on file", extra={"contact_id": contact_id})
    return _page(200, "done", page_locale(contact, accept_language))
