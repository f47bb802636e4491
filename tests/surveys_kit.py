"""Test support for surveys: a shop customer, the scheduled sender, the answer page and its form."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import boto3

from crm_core.models import Contact
from crm_core.models.surveys import SurveyAnswer, SurveyStats
from crm_core.settings import get_settings
from tests.helpers import Mail, http_event, load_handler, outbox, scheduled

SCHEDULED = scheduled("SendFollowupsFunctionEveryFiveMinutes")
_LINK = re.compile(r"https?://[^\s\"<>]+/surveys/answer\?[^\s\"<>]+")


def customer(email: str, *, locale: str = "en", tier: str | None = None, zone: str = "Europe/Rome") -> str:
    from crm_core.models import contact_id_for

    contact_id = contact_id_for(email)
    Contact(contact_id, email=email, first_name="Ana", locale=locale, time_zone=zone, tier=tier).save()
    return contact_id


def send_due(lambda_context: Any) -> dict[str, Any]:
    """One scheduled follow-up run, through the function (under its IAM role)."""
    result: dict[str, Any] = load_handler("send_followups").lambda_handler(SCHEDULED, lambda_context)
    return result


def surveys_in(stack: Any, to: str | None = None) -> list[Mail]:
    return [m for m in outbox(stack) if "/surveys/answer?" in m.text and (to is None or m.to == to)]


def score_links(mail: Mail) -> dict[int, str]:
    """The email's links, by the score each preselects (from the plain-text part)."""
    found = {}
    for url in _LINK.findall(mail.text):
        query = dict(parse_qsl(urlsplit(unescape(url)).query))
        found[int(query["score"])] = unescape(url)
    return found


def call_page(
    method: str, url: str, lambda_context: Any, form: dict[str, str] | None = None, language: str = ""
) -> dict[str, Any]:
    parts = urlsplit(url)
    headers = {"accept-language": language} if language else {}
    body = None
    if form is not None:
        headers["content-type"] = "application/x-www-form-urlencoded"
        body = urlencode(form)
    event = http_event(method, parts.path, query=parts.query, headers=headers, body=body)
    response: dict[str, Any] = load_handler("answer_survey").lambda_handler(event, lambda_context)
    return response


def answer(url: str, score: int, lambda_context: Any, comment: str = "") -> dict[str, Any]:
    """Post the page's form, as the browser does (the token stays in the query, the score in the body)."""
    token = dict(parse_qsl(urlsplit(url).query))["token"]
    base = url.split("?", maxsplit=1)[0]
    return call_page(
        "POST",
        f"{base}?{urlencode({'token': token})}",
        lambda_context,
        {"score": str(score), "comment": comment},
    )


def results(lambda_context: Any, **query: str) -> tuple[int, dict[str, Any]]:
    event = http_event("GET", "/surveys/results", query=query, iam=True)
    response = load_handler("serve_survey_results").lambda_handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def answers_of(contact_id: str) -> list[SurveyAnswer]:
    return list(SurveyAnswer.query(contact_id, SurveyAnswer.key.startswith("answer#"), consistent_read=True))


def history_of(contact_id: str) -> list[SurveyAnswer]:
    return list(SurveyAnswer.query(contact_id, SurveyAnswer.key.startswith("history#"), consistent_read=True))


def stats(survey: str, dimension: str = "all") -> list[SurveyStats]:
    return list(SurveyStats.query(f"stats#{survey}#{dimension}", consistent_read=True))


def helpdesk_messages() -> list[dict[str, Any]]:
    """Every message on the case queue (received and left there)."""
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=get_settings().case_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300
        ).get("Messages", [])
        if not batch:
            return found
        found += [json.loads(m["Body"]) for m in batch]
