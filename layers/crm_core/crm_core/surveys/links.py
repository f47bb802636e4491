"""Survey links: one signed link per score, naming the contact, the survey and its occasion, expiring.

The token is signed with crm_core.messaging.tokens for its own purpose (an unsubscribe token
cannot answer a survey, nor the reverse) and carries its expiry, so no lookup is needed to refuse
an old link. The score is a separate query parameter: it only preselects a choice on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from crm_core.contacts import aliases
from crm_core.errors import InvalidToken
from crm_core.messaging import tokens
from crm_core.settings import get_settings

PURPOSE = "survey-answer"
PATH = "/surveys/answer"


class LinkExpired(InvalidToken):
    """The link was genuine but is older than its validity (it still names its contact)."""

    def __init__(self, contact_id: str) -> None:
        super().__init__("the survey link has expired")
        self.contact_id = contact_id


@dataclass(frozen=True, slots=True)
class Ticket:
    """What a verified link names."""

    contact_id: str
    survey: str
    occasion: str
    expires_at: datetime


def token(contact_id: str, survey: str, occasion: str, expires_at: datetime) -> str:
    """The signed token of a survey link: contact, survey, occasion and expiry."""
    payload = {"c": contact_id, "s": survey, "o": occasion, "x": int(expires_at.timestamp())}
    return tokens.sign(payload, PURPOSE)


def answer_url(signed: str, score: int | None = None) -> str:
    """The page's address for a token (and a preselected score)."""
    query = {"token": signed} | ({"score": str(score)} if score is not None else {})
    return f"{get_settings().public_base_url.rstrip('/')}{PATH}?{urlencode(query)}"


def score_links(
    contact_id: str, survey: str, occasion: str, scores: range, *, now: datetime, valid_for: timedelta
) -> list[dict[str, object]]:
    """One `{"score", "url"}` per score of the scale, all with the same token."""
    signed = token(contact_id, survey, occasion, now + valid_for)
    return [{"score": score, "url": answer_url(signed, score)} for score in scores]


def verify(signed: str | None, now: datetime) -> Ticket:
    """The ticket a link names; raises InvalidToken (forged, altered, malformed) or LinkExpired."""
    payload = tokens.verify(signed or "", PURPOSE)
    contact_id, survey, occasion, expiry = (payload.get(k) for k in ("c", "s", "o", "x"))
    if not (
        isinstance(contact_id, str)
        and contact_id.startswith("ct_")
        and isinstance(survey, str)
        and isinstance(occasion, str)
        and isinstance(expiry, int)
    ):
        raise InvalidToken("token without a contact, survey and occasion")
    expires_at = datetime.fromtimestamp(expiry, UTC)
    if now >= expires_at:
        raise LinkExpired(contact_id)
    return Ticket(aliases.current_id(contact_id), survey, occasion, expires_at)  # re-keyed since sent
