"""Answering a survey: the page a score link opens (GET, changes nothing) and its form's POST.

GET shows the question with the linked score preselected and a comment box; mail scanners follow
links, so only the POST records. Answering again changes the answer: the last one counts, every
version is kept as a history item, and the counters move from the old score to the new one. Each
write is one transaction conditional on the revision read, so a double submit records once and a
replay of the same answer changes nothing. A low score opens exactly one case (surveys.cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from crm_core import clock
from crm_core.campaigns.unsubscribe import page_answer, page_locale
from crm_core.checks import read_yaml
from crm_core.errors import FieldError, InvalidToken, RetryableError, ValidationFailed
from crm_core.http.page import environment as page_environment
from crm_core.messaging.templates import brand
from crm_core.models import Contact
from crm_core.models.base import condition_failed
from crm_core.models.surveys import SurveyAnswer, SurveyStats, answer_key, history_key
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings
from crm_core.surveys import definitions, invitations, links
from crm_core.surveys.cases import case_for_low_score

if TYPE_CHECKING:
    from crm_core.http.answer import HttpAnswer
    from crm_core.models.surveys import SurveyInvitation
    from crm_core.surveys.definitions import Survey

PAGES_DIR = Path(__file__).parent / "pages"
MAX_COMMENT_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Recorded:
    """What an answer did."""

    score: int
    revision: int
    changed: bool  # False for a replay of the answer already recorded
    low: bool
    case_id: str | None
    review_url: str | None


@cache
def _strings() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = read_yaml(PAGES_DIR / "strings.yaml")
    return data


def _locale(contact: Contact | None, accept_language: str | None) -> str:
    return page_locale(contact, accept_language, known=_strings())


def _render(status: int, locale: str, title: str, paragraphs: list[str], **form: Any) -> HttpAnswer:
    shop = brand()
    fill = {"brand": shop.get("name", ""), "support": get_settings().support_address}
    context: dict[str, Any] = {
        "locale": locale,
        "brand": shop,
        "title": title,
        "paragraphs": [p.format(**fill) for p in paragraphs],
        "error": "",
        "scores": [],
        "question": "",
        "chosen": None,
        "low_label": "",
        "high_label": "",
        "comment_label": "",
        "comment": "",
        "max_comment": MAX_COMMENT_CHARS,
        "button": "",
        "token": "",
        "link": "",
        "link_text": "",
        "note": "",
        "site_link": "",
        **form,
    }
    context["site_link"] = context["site_link"].format(**fill)
    return page_answer(status, page_environment(PAGES_DIR).get_template("answer.html.j2").render(context))


def _closed(status: int, name: str, locale: str) -> HttpAnswer:
    words = _strings()[locale]
    return _render(
        status, locale, words[f"{name}_title"], [words[f"{name}_body"]], site_link=words["site_link"]
    )


def _form(  # noqa: PLR0917 - the page's parts, each named at the call
    status: int,
    locale: str,
    survey: Survey,
    token: str,
    chosen: int | None,
    comment: str = "",
    error: str = "",
) -> HttpAnswer:
    words = _strings()[locale]
    return _render(
        status,
        locale,
        words["ask_title"],
        [],
        error=error,
        scores=list(survey.scores),
        question=survey.question_in(locale),
        chosen=chosen,
        low_label=words["low_label"],
        high_label=words["high_label"],
        comment_label=words["comment_label"],
        comment=comment,
        button=words["button"],
        token=token,
        note=words["note"],
    )


def _contact(contact_id: str) -> Contact | None:
    try:
        return Contact.get(contact_id, consistent_read=True)
    except DoesNotExist:
        return None


def _current(contact_id: str, survey: str, occasion: str) -> SurveyAnswer | None:
    try:
        return SurveyAnswer.get(contact_id, answer_key(survey, occasion), consistent_read=True)
    except DoesNotExist:
        return None


def _whole(text: str | None) -> int | None:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


def _checked(survey: Survey, score_text: str | None, comment: str | None) -> tuple[int, str]:
    """The score and comment of a submitted form; raises ValidationFailed naming each bad field."""
    errors = []
    score = _whole(score_text)
    if score is None or score not in survey.scores:
        errors.append(
            FieldError("score", f"must be a whole number from {survey.scores[0]} to {survey.scores[-1]}")
        )
    text = (comment or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_COMMENT_CHARS:
        errors.append(FieldError("comment", f"must be at most {MAX_COMMENT_CHARS} characters"))
    if errors:
        raise ValidationFailed(errors)
    return int(score or 0), text


def _resolve(token: str | None, now: datetime) -> tuple[links.Ticket, Survey]:
    """The ticket and survey a link names; raises InvalidToken (LinkExpired for an old one)."""
    ticket = links.verify(token, now)
    survey = definitions.load().get(ticket.survey)
    if survey is None:
        raise InvalidToken("the survey no longer exists")
    return ticket, survey


def page(token: str | None, score: str | None, accept_language: str | None = None) -> HttpAnswer:
    """GET: the question with `score` preselected and the answer so far; changes nothing."""
    count("SurveyPagesShown")
    try:
        ticket, survey = _resolve(token, clock.now())
    except links.LinkExpired as expired:  # genuine: the polite page speaks the contact's language
        return _closed(410, "expired", _locale(_contact(expired.contact_id), accept_language))
    except InvalidToken:
        return _closed(400, "invalid", _locale(None, accept_language))
    contact = _contact(ticket.contact_id)
    locale = _locale(contact, accept_language)
    chosen = _whole(score)
    current = _current(ticket.contact_id, ticket.survey, ticket.occasion)
    if chosen not in survey.scores:
        chosen = int(current.score) if current is not None else None
    comment = (current.comment or "") if current is not None else ""
    return _form(200, locale, survey, str(token), chosen, comment)


def submit(token: str | None, form: dict[str, str], accept_language: str | None = None) -> HttpAnswer:
    """POST: record the answer (see `record`) and thank the person, in their language."""
    now = clock.now()
    try:
        ticket, survey = _resolve(token, now)
    except links.LinkExpired as expired:  # genuine: the polite page speaks the contact's language
        return _closed(410, "expired", _locale(_contact(expired.contact_id), accept_language))
    except InvalidToken:
        get_logger().warning("survey answer with an invalid token refused")
        return _closed(400, "invalid", _locale(None, accept_language))
    contact = _contact(ticket.contact_id)
    locale = _locale(contact, accept_language)
    words = _strings()[locale]
    try:
        score, comment = _checked(survey, form.get("score"), form.get("comment"))
    except ValidationFailed as exc:
        fields = {e.field for e in exc.errors}
        message = (
            words["bad_score"] if "score" in fields else words["long_comment"].format(limit=MAX_COMMENT_CHARS)
        )
        chosen = _whole(form.get("score"))
        return _form(
            400, locale, survey, str(token), chosen, (form.get("comment") or "")[:MAX_COMMENT_CHARS], message
        )
    if contact is None:  # erased since the survey was sent: nothing to attach the answer to
        return _closed(410, "expired", locale)
    done = record(ticket, survey, contact, score, comment, now=now)
    paragraphs = [words["thanks_body"]]
    if done.revision > 1 and done.changed:
        paragraphs.insert(0, words["changed_body"])
    if done.low:
        paragraphs.append(words["low_body"])
    extra: dict[str, Any] = {"site_link": words["site_link"]}
    if done.review_url:
        paragraphs.append(words["review_body"])
        extra |= {"link": done.review_url, "link_text": words["review_link"]}
    return _render(200, locale, words["thanks_title"], paragraphs, **extra)


def _stats_moves(
    survey: str, invitation: SurveyInvitation | None, previous: int | None, score: int, now: datetime
) -> list[tuple[SurveyStats, list[Any]]]:
    """Counter updates: a first answer counts as answered with its score; a change moves the score."""
    if invitation is None or previous == score:
        return []
    day = invitation.day or now.astimezone(UTC).strftime("%Y-%m-%d")
    actions: list[Any] = [getattr(SurveyStats, f"s{score}").add(1)]
    if previous is None:
        actions.append(SurveyStats.answered.add(1))
    else:
        actions.append(getattr(SurveyStats, f"s{previous}").add(-1))
    return [
        (invitations.stats_item(survey, dimension, day, group), actions)
        for dimension, group in invitations.groups(invitation).items()
    ]


def _write(  # noqa: PLR0917 - one transaction's inputs
    ticket: links.Ticket,
    survey: Survey,
    invitation: SurveyInvitation | None,
    current: SurveyAnswer | None,
    score: int,
    comment: str,
    locale: str,
    now: datetime,
) -> SurveyAnswer | None:
    """One transaction: the answer (on the revision read), its history item, the counters. None if
    another answer was recorded meanwhile."""
    revision = int(current.revision) + 1 if current is not None else 1
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    values: dict[str, Any] = {
        "survey": ticket.survey, "occasion": ticket.occasion, "scale": survey.scale, "score": score,
        "comment": comment or None, "answered_at": stamp, "revision": revision, "low": survey.is_low(score),
        "locale": locale,
    }  # fmt: skip
    answer = SurveyAnswer(
        ticket.contact_id,
        answer_key(ticket.survey, ticket.occasion),
        case_id=current.case_id if current is not None else None,
        **values,
    )
    history = SurveyAnswer(ticket.contact_id, history_key(ticket.survey, ticket.occasion, revision), **values)
    condition = (
        SurveyAnswer.key.does_not_exist()
        if current is None
        else SurveyAnswer.revision == int(current.revision)
    )
    previous = int(current.score) if current is not None else None
    try:
        with TransactWrite(connection=invitations._connection()) as tx:
            tx.save(answer, condition=condition)
            tx.save(history, condition=SurveyAnswer.key.does_not_exist())
            for item, actions in _stats_moves(ticket.survey, invitation, previous, score, now):
                tx.update(item, actions=actions)
    except TransactWriteError as exc:
        if condition_failed(exc):
            return None
        raise
    return answer


def _store(
    ticket: links.Ticket,
    survey: Survey,
    invitation: SurveyInvitation | None,
    *,
    score: int,
    comment: str,
    locale: str,
    now: datetime,
) -> tuple[SurveyAnswer, bool]:
    """The stored answer, and whether this call changed it; raises RetryableError when it kept
    changing under us."""
    names = {"contact_id": ticket.contact_id, "survey": ticket.survey, "occasion": ticket.occasion}
    for _ in range(3):
        current = _current(ticket.contact_id, ticket.survey, ticket.occasion)
        if current is not None and int(current.score) == score and (current.comment or "") == comment:
            return current, False  # the same answer again (a double submit, a replay)
        written = _write(ticket, survey, invitation, current, score, comment, locale, now)
        if written is not None:
            count("SurveyAnswersRecorded")
            get_logger().info(
                "survey answered", extra={**names, "score": score, "revision": written.revision}
            )
            return written, True
    raise RetryableError("the answer kept changing; try again")


def record(
    ticket: links.Ticket, survey: Survey, contact: Contact, score: int, comment: str, *, now: datetime
) -> Recorded:
    """Record an answer (the last one counts, history kept); a low one gets its case (exactly one).

    Raises RetryableError when the answer kept changing under us or a dependency failed transiently.
    """
    invitation = invitations.get_invitation(ticket.contact_id, ticket.survey, ticket.occasion)
    locale = invitation.locale if invitation is not None else (contact.locale or "en")
    answer, changed = _store(ticket, survey, invitation, score=score, comment=comment, locale=locale, now=now)
    case_id = answer.case_id
    if survey.is_low(score) and case_id is None:
        case_id = case_for_low_score(answer, survey, invitation, contact, now)
        answer.update(actions=[SurveyAnswer.case_id.set(case_id)])
    _tell_lifecycle(answer)
    if survey.is_low(score) and case_id is not None:  # a low score is a complaint (replays included)
        from crm_core.lifecycle.bus import tell_case  # noqa: PLC0415 - EventBridge and owners only for a low score
        from crm_core.owners.service import on_survey_score  # noqa: PLC0415 - EventBridge and owners only for a low score

        tell_case("opened", ticket.contact_id, case_id, answer.answered_at)
        on_survey_score(ticket.contact_id, answer.key, Decimal(score))  # one call per low-rated occasion
    review = get_settings().survey_review_url
    invite_review = survey.trigger == "case-resolved" and survey.invites_review(score) and bool(review)
    return Recorded(
        score=score,
        revision=int(answer.revision),
        changed=changed,
        low=survey.is_low(score),
        case_id=case_id,
        review_url=review if invite_review else None,
    )


def _tell_lifecycle(answer: SurveyAnswer) -> None:
    """`crm.survey.answered` on the CRM's bus: an answer is engagement for the relationship lifecycle.

    Published on every record, a repeated answer included, so an answer whose first publish failed
    (the POST answered 5xx and the visitor sent it again) still reaches the lifecycle, which applies
    each `answer_id` once. Raises RetryableError when EventBridge refused it.
    """
    from crm_core.lifecycle.bus import publish  # noqa: PLC0415 - EventBridge's client only when answering

    answer_id = f"{answer.key}#{int(answer.revision)}"
    detail = {"contact_id": answer.contact_id, "answer_id": answer_id, "answered_at": answer.answered_at}
    publish("crm.surveys", "crm.survey.answered", detail)
