"""Double opt-in: a consent that must be confirmed by the address owner, through a signed link.

A post that asks for marketing after an opt-out (or any post, with DOUBLE_OPT_IN=always) stores
`consent_pending` and mails the address a link (`/consent?token=...`, signed for its own purpose,
naming the pending request and expiring after VALID_FOR). Mail scanners follow links, so GET only
shows a page that asks; POST confirms: the consent is recorded as `confirmed`, the opt-out and a
marketing suppression are lifted. A bounce or complaint suppression (`all`) is never lifted. An
unsubscribe after the link was sent withdraws the pending request, so the old link stops working.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from pynamodb.exceptions import DoesNotExist

from crm_core import clock
from crm_core.contacts import aliases, history
from crm_core.errors import InvalidToken
from crm_core.messaging import suppressions, tokens
from crm_core.models.base import update_if
from crm_core.models.contacts import Consent, Contact
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings

if TYPE_CHECKING:
    from crm_core.http.answer import HttpAnswer

PURPOSE = "consent-confirm"
KIND = "consent-confirm"
TEMPLATE = "consent-confirm"
PATH = "/consent"
VALID_FOR = timedelta(days=7)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def confirm_url(contact_id: str, pending_at: str) -> str:
    """The signed link that confirms the consent requested at `pending_at` (valid for VALID_FOR)."""
    expires = int((_instant(pending_at) + VALID_FOR).timestamp())
    token = tokens.sign({"c": contact_id, "p": pending_at, "x": expires}, PURPOSE)
    return f"{get_settings().public_base_url.rstrip('/')}{PATH}?token={token}"


def request_confirmation(
    contact_id: str, address: str, pending_at: str, *, locale: str | None, time_zone: str | None
) -> str:
    """Mail the confirmation link (once per request, however often this is called); returns the
    delivery's outcome ("sent", "suppressed", "failed", ...). The mail greets no one by name: the name
    came from the same anonymous post. Raises what crm_core.messaging.delivery.deliver raises."""
    from crm_core.campaigns import definitions  # noqa: PLC0415 - the message engine only when asking
    from crm_core.messaging.delivery import Outgoing, deliver  # noqa: PLC0415 - with the campaign definitions above

    context = {"confirm_url": confirm_url(contact_id, pending_at), "brand": dict(definitions.load().brand)}
    delivery = deliver(
        Outgoing(
            contact_id=contact_id,
            to=address,
            kind=KIND,
            occurrence=pending_at,
            template=TEMPLATE,
            locale=locale,
            context=context,
            marketing=False,  # asked for by the form just posted; a bounced address still gets nothing
            time_zone=time_zone,
        )
    )
    count("ConsentConfirmationsRequested")
    return delivery.outcome.value


def _verified(token: str | None, now: datetime) -> tuple[str, str]:
    """(contact id, pending request time) of a valid, unexpired token; raises InvalidToken."""
    payload = tokens.verify(token or "", PURPOSE)
    contact_id, pending_at, expires = payload.get("c"), payload.get("p"), payload.get("x")
    if not isinstance(contact_id, str) or not isinstance(pending_at, str) or not isinstance(expires, int):
        raise InvalidToken("token without a contact")
    if now.timestamp() > expires:
        raise InvalidToken("expired")
    return aliases.current_id(contact_id), pending_at  # a link mailed before the ids were re-keyed


def _contact(contact_id: str) -> Contact | None:
    try:
        return Contact.get(contact_id, consistent_read=True)
    except DoesNotExist:
        return None


def _confirmed(contact: Contact | None) -> bool:
    return bool(
        contact is not None
        and contact.consent is not None
        and contact.consent.granted
        and contact.consent.source == "confirmed"
        and not contact.marketing_opt_out
    )


def _open(contact: Contact | None, pending_at: str) -> bool:
    return (
        contact is not None
        and contact.consent_pending is not None
        and contact.consent_pending.at == pending_at
    )


def _page(
    status: int, name: str, contact: Contact | None, accept_language: str | None, token: str = ""
) -> HttpAnswer:
    from crm_core.campaigns.unsubscribe import page_locale, render_page, strings  # noqa: PLC0415 - the page engine only when a page is answered

    locale = page_locale(contact, accept_language)
    words = strings(locale)
    if name == "confirm":
        return render_page(
            status,
            locale,
            words["optin_confirm_title"],
            [words["optin_confirm_body"]],
            button=words["optin_confirm_button"],
            note=words["optin_confirm_keep"],
            token=token,
        )
    return render_page(status, locale, words[f"optin_{name}_title"], [words[f"optin_{name}_body"]])


def confirmation_page(token: str | None, accept_language: str | None = None) -> HttpAnswer:
    """GET: the page that asks the owner to confirm; changes nothing. 400 for a forged, altered,
    expired or superseded link. DynamoDB errors pass."""
    count("ConsentPagesShown")
    try:
        contact_id, pending_at = _verified(token, clock.now())
    except InvalidToken:
        return _page(400, "invalid", None, accept_language)
    contact = _contact(contact_id)
    if _confirmed(contact) and not _open(contact, pending_at):
        return _page(200, "done", contact, accept_language)
    if not _open(contact, pending_at):
        return _page(400, "invalid", contact, accept_language)
    return _page(200, "confirm", contact, accept_language, token=str(token))


def confirm(token: str | None, accept_language: str | None = None) -> HttpAnswer:
    """POST: record the consent as confirmed by the address owner, lift the opt-out and a marketing
    suppression (never a bounce or complaint). Safe to repeat. 400 for a forged, altered, expired or
    superseded link (an unsubscribe since, a newer request). DynamoDB errors pass (the person retries)."""
    now = clock.now()
    try:
        contact_id, pending_at = _verified(token, now)
    except InvalidToken:
        count("ConsentConfirmRefused")
        get_logger().warning("consent confirmation with an invalid or expired token refused")
        return _page(400, "invalid", None, accept_language)
    contact = _contact(contact_id)
    if contact is None or not (_open(contact, pending_at) or _confirmed(contact)):
        return _page(400, "invalid", contact, accept_language)
    if _open(contact, pending_at):
        pending = contact.consent_pending
        assert pending is not None  # noqa: S101 - narrows the type; _open is true only with a pending request
        decision = Consent(  # type: ignore[no-untyped-call]
            granted=True,
            at=now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            form_id=pending.form_id,
            source_page=pending.source_page,
            source="confirmed",
        )
        confirmed = update_if(
            contact,
            [
                Contact.consent.set(decision),
                Contact.marketing_opt_out.set(False),
                Contact.consent_pending.remove(),
                Contact.updated_at.set(now),
                *history.append(contact, [history.of_decision(decision)]),
            ],
            # an unsubscribe or a newer request since the page was shown wins
            Contact.consent_pending.at == pending_at,  # type: ignore[arg-type]
            add_version_condition=False,
        )
        if not confirmed:
            return _page(400, "invalid", contact, accept_language)
        count("ConsentConfirmed")
        get_logger().info("consent confirmed by the address owner", extra={"contact_id": contact_id})
    # After the contact, so a retry after a failure here lifts it again (lifting is idempotent).
    suppressions.lift_marketing(contact.email, now=now)
    return _page(200, "done", contact, accept_language)
