"""Asking a survey: decide whether this contact may be asked now, make the links, count what was sent.

The follow-up sender calls `prepare` for a survey step (after purchase, after a resolved case) and,
once SES accepted the email, `mark_sent`. `prepare` writes the invitation once per (contact, survey,
occasion); `mark_sent` counts it once (a conditional update on its status, in one transaction with
the counters and the contact's last-survey date), so a replayed run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from crm_core.clock import iso
from crm_core.errors import ConfigurationError
from crm_core.messaging import suppressions
from crm_core.models.base import condition_failed, save_if
from crm_core.models.surveys import (
    LAST_INVITE_SK,
    SurveyInvitation,
    SurveyLastInvite,
    SurveyStats,
    invite_key,
    stats_key,
)
from crm_core.settings import get_settings
from crm_core.surveys import definitions, links
from crm_core.surveys.definitions import Survey, SurveyCatalog

if TYPE_CHECKING:
    from crm_core.models import Contact

NONE = "none"


@dataclass(frozen=True, slots=True)
class Invite:
    """A survey ready to be mailed: the invitation item and what the email template shows."""

    invitation: SurveyInvitation
    survey: Survey
    context: dict[str, Any] = field(default_factory=dict)


def instant(text: str) -> datetime:
    """The instant a surveys table timestamp names."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _get_invitation(contact_id: str, survey: str, occasion: str) -> SurveyInvitation | None:
    try:
        return SurveyInvitation.get(contact_id, invite_key(survey, occasion), consistent_read=True)
    except DoesNotExist:
        return None


def get_invitation(contact_id: str, survey: str, occasion: str) -> SurveyInvitation | None:
    """The invitation a link names, or None."""
    return _get_invitation(contact_id, survey, occasion)


def _last_invite(contact_id: str) -> SurveyLastInvite | None:
    try:
        return SurveyLastInvite.get(contact_id, LAST_INVITE_SK, consistent_read=True)
    except DoesNotExist:
        return None


def _held(contact: Contact, survey: str, occasion: str, now: datetime, catalog: SurveyCatalog) -> str | None:
    """Why this contact must not be asked now, or None."""
    if contact.marketing_opt_out:
        return "opted-out"  # an unsubscribed person asked to hear from us less: no surveys either
    if suppressions.blocks(suppressions.suppression_for(contact.email), marketing=True):
        return "suppressed"
    last = _last_invite(contact.contact_id)
    other = last is not None and (last.survey, last.occasion) != (survey, occasion)
    if other and last is not None and instant(last.at) > now - catalog.contact_gap:
        return "contact-gap"
    return None


def prepare(
    contact: Contact,
    survey_name: str,
    occasion: str,
    *,
    now: datetime,
    team: str | None = None,
    case_id: str | None = None,
    catalog: SurveyCatalog | None = None,
) -> Invite | str:
    """The invite for this occasion, or why the step is skipped ("opted-out", "suppressed",
    "contact-gap"). Raises ConfigurationError for a survey surveys.yaml does not define."""
    catalog = catalog or definitions.load()
    survey = catalog.get(survey_name)
    if survey is None:
        raise ConfigurationError(f"campaigns.yaml asks survey {survey_name!r}, which surveys.yaml lacks")
    invitation = _get_invitation(contact.contact_id, survey_name, occasion)
    if invitation is None or invitation.status != "sent":
        held = _held(contact, survey_name, occasion, now, catalog)
        if held is not None:
            return held
    if invitation is None:
        invitation = SurveyInvitation(
            contact.contact_id,
            invite_key(survey_name, occasion),
            survey=survey_name,
            occasion=occasion,
            status="prepared",
            prepared_at=iso(now),
            locale=(contact.locale or get_settings().default_locale).split("-")[0].lower(),
            team=team or NONE,
            tier=(contact.tier or NONE).lower(),
            case_id=case_id,
        )
        if not save_if(invitation, SurveyInvitation.key.does_not_exist()):
            invitation = _get_invitation(contact.contact_id, survey_name, occasion) or invitation
    started = instant(invitation.prepared_at)  # a retried send keeps the first links' expiry
    scores = links.score_links(
        contact.contact_id,
        survey_name,
        occasion,
        survey.scores,
        now=started,
        valid_for=catalog.link_valid_for,
    )
    context = {
        "survey": survey_name,
        "scale": survey.scale,
        "question": survey.question_in(invitation.locale),
        "scores": scores,
        "expires_on": (started + catalog.link_valid_for).strftime("%Y-%m-%d"),
    }
    return Invite(invitation, survey, context)


def groups(invitation: SurveyInvitation) -> dict[str, str]:
    """The group the invitation counts in, per grouping."""
    return {"all": "all", "locale": invitation.locale, "team": invitation.team, "tier": invitation.tier}


def stats_item(survey: str, dimension: str, day: str, group: str) -> SurveyStats:
    """The counter item of a survey's `dimension` for one day and group."""
    return SurveyStats(stats_key(survey, dimension), f"{day}#{group}")


def _connection() -> Any:
    return SurveyInvitation._get_connection().connection


def mark_sent(invitation: SurveyInvitation, now: datetime) -> bool:
    """Count the invitation as sent (once); False if it already was."""
    day = invitation.day or now.astimezone(UTC).strftime("%Y-%m-%d")
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.update(
                invitation,
                actions=[
                    SurveyInvitation.status.set("sent"),
                    SurveyInvitation.sent_at.set(iso(now)),
                    SurveyInvitation.day.set(day),
                ],
                condition=SurveyInvitation.status == "prepared",
            )
            tx.save(
                SurveyLastInvite(
                    invitation.contact_id, at=iso(now), survey=invitation.survey, occasion=invitation.occasion
                )
            )
            for dimension, group in groups(invitation).items():
                tx.update(
                    stats_item(invitation.survey, dimension, day, group), actions=[SurveyStats.sent.add(1)]
                )
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False
        raise
    invitation.status, invitation.day = "sent", day
    return True
