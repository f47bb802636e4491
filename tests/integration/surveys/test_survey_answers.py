"""Answering a survey: GET shows and changes nothing, POST records; the last answer counts; a low
score opens exactly one case, or reopens the resolved case it was about."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from crm_core import campaigns
from crm_core.messaging import tokens
from crm_core.models import Contact
from crm_core.models.cases import Case
from crm_core.settings import reset_settings
from crm_core.surveys import links
from tests.complaints import compose, ses_event
from tests.helpers import bus_listener, bus_received, http_event, load_handler
from tests.surveys_kit import (
    answer,
    answers_of,
    call_page,
    customer,
    helpdesk_messages,
    history_of,
    score_links,
    send_due,
    stats,
    surveys_in,
)


@pytest.fixture
def purchase_survey(stack, frozen_clock, lambda_context) -> dict[int, str]:
    """Ana bought order A-1001 five days ago and got the survey: its links by score."""
    contact_id = customer("ana@example.com", locale="it", tier="gold")
    campaigns.on_purchase(contact_id, "A-1001", frozen_clock.now())
    for _ in range(5):
        frozen_clock.advance(timedelta(days=1))
        send_due(lambda_context)
    (mail,) = surveys_in(stack)
    return score_links(mail)


def cases_of(contact_id: str) -> list[Case]:
    return list(Case.by_contact.query(contact_id))


def ana() -> str:
    from crm_core.models import contact_id_for

    return contact_id_for("ana@example.com")


def test_following_a_score_link_shows_the_question_with_that_score_chosen_and_changes_nothing(
    purchase_survey, lambda_context
) -> None:
    page = call_page("GET", purchase_survey[4], lambda_context)
    call_page("GET", purchase_survey[4], lambda_context)  # a mail scanner follows it again

    assert page["statusCode"] == 200
    assert 'lang="it"' in page["body"] and "Quanto sei soddisfatto del tuo ordine?" in page["body"]
    assert 'value="4" checked' in page["body"] and 'value="5" checked' not in page["body"]
    assert answers_of(ana()) == [] and stats("after-purchase")[0].answered == 0


def test_the_answer_page_wears_the_sites_page_look(purchase_survey, lambda_context) -> None:
    from crm_core.messaging.templates import PALETTE, brand

    body = call_page("GET", purchase_survey[4], lambda_context)["body"]

    header = body[body.index("<header>") : body.index("</header>")]
    assert brand()["name"] in header  # the band of the unsubscribe and consent pages
    assert f"background: {PALETTE['header']}" in body and "#d1d5db" not in body  # palette only


def test_posting_the_form_records_the_answer_once_however_often_it_is_posted(
    purchase_survey, lambda_context
) -> None:
    pages = [answer(purchase_survey[4], 4, lambda_context, "Tutto bene") for _ in range(5)]

    assert {p["statusCode"] for p in pages} == {200}
    assert "Grazie per la tua risposta" in pages[0]["body"]
    (recorded,) = answers_of(ana())
    assert (recorded.score, recorded.comment, recorded.revision, recorded.low) == (4, "Tutto bene", 1, False)
    assert len(history_of(ana())) == 1
    (day,) = stats("after-purchase")
    assert (day.sent, day.answered, day.score_counts()) == (1, 1, {4: 1})


def test_answering_again_changes_the_answer_and_keeps_the_history(purchase_survey, lambda_context) -> None:
    answer(purchase_survey[3], 3, lambda_context)
    page = answer(purchase_survey[3], 5, lambda_context, "Anzi, benissimo")

    assert "Abbiamo aggiornato la tua risposta" in page["body"]
    (recorded,) = answers_of(ana())
    assert (recorded.score, recorded.revision) == (5, 2)
    assert [(h.score, h.revision) for h in history_of(ana())] == [(3, 1), (5, 2)]
    for grouping in ("all", "locale", "tier", "team"):
        (day,) = stats("after-purchase", grouping)
        assert (day.answered, day.score_counts()) == (1, {5: 1}), grouping


def test_a_low_score_opens_exactly_one_case_with_the_comment_and_a_raised_priority(
    purchase_survey, lambda_context
) -> None:
    comment = "Il prodotto è difettoso e non funziona"
    for _ in range(5):
        page = answer(purchase_survey[1], 1, lambda_context, comment)
    answer(purchase_survey[2], 2, lambda_context, "Ancora scontento")  # another low answer: same case

    assert "Il nostro team ha ricevuto il tuo messaggio" in page["body"]
    (case,) = cases_of(ana())
    assert case.status == "open" and case.category == "product_quality"
    assert case.priority == "P1"  # gold makes Ana's usual priority P2 for this category; one more: P1
    _, body = _get_case(case.case_id, lambda_context)
    (event,) = body["events"]
    assert event["kind"] == "survey" and event["text"] == comment
    assert [m["type"] for m in helpdesk_messages()] == ["case.opened"]  # the team told once
    assert answers_of(ana())[0].case_id == case.case_id
    assert Contact.get(ana()).open_cases == 1


def test_a_high_score_opens_no_case(purchase_survey, lambda_context) -> None:
    answer(purchase_survey[5], 5, lambda_context, "Perfetto")
    assert cases_of(ana()) == [] and helpdesk_messages() == []


def test_a_score_outside_the_scale_is_refused_naming_the_choice(purchase_survey, lambda_context) -> None:
    page = answer(purchase_survey[5], 9, lambda_context)
    assert page["statusCode"] == 400 and "Scegli uno dei punteggi" in page["body"]
    assert answers_of(ana()) == []


def test_an_expired_link_shows_a_polite_page_and_records_nothing(
    purchase_survey, frozen_clock, lambda_context
) -> None:
    frozen_clock.advance(timedelta(days=31))
    shown = call_page("GET", purchase_survey[5], lambda_context)
    posted = answer(purchase_survey[5], 5, lambda_context)

    assert shown["statusCode"] == posted["statusCode"] == 410
    assert "Questo sondaggio è chiuso" in posted["body"]
    assert answers_of(ana()) == []


def test_an_altered_link_is_refused(purchase_survey, lambda_context) -> None:
    query = dict(parse_qsl(urlsplit(purchase_survey[5]).query))
    payload = {"c": ana(), "s": "after-purchase", "o": "A-9999", "x": 4102444800}
    forged = tokens.sign(payload, "unsubscribe")  # a genuine token of another purpose
    for token in (query["token"][:-2] + "xx", forged):
        page = call_page("GET", f"/surveys/answer?{urlencode({'token': token})}", lambda_context)
        assert page["statusCode"] == 400
    assert answers_of(ana()) == []


def test_a_link_is_valid_for_thirty_days_from_sending(purchase_survey, frozen_clock) -> None:
    token = dict(parse_qsl(urlsplit(purchase_survey[5]).query))["token"]
    ticket = links.verify(token, frozen_clock.now())
    assert ticket.expires_at - frozen_clock.now() == timedelta(days=30)
    assert (ticket.survey, ticket.occasion) == ("after-purchase", "A-1001")


def _get_case(case_id: str, lambda_context):
    event = http_event("GET", f"/cases/{case_id}", route="GET /cases/{case_id}", iam=True)
    event["pathParameters"] = {"case_id": case_id}
    response = load_handler("serve_cases").lambda_handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def _resolve(case_id: str, lambda_context) -> int:
    event = http_event(
        "POST",
        f"/cases/{case_id}/status",
        body={"status": "resolved"},
        route="POST /cases/{case_id}/status",
        iam=True,
    )
    event["pathParameters"] = {"case_id": case_id}
    return int(load_handler("serve_cases").lambda_handler(event, lambda_context)["statusCode"])


@pytest.fixture
def resolved_case(stack, frozen_clock, lambda_context) -> str:
    """Ana complained by email; the agent resolved the case (twice: a retried request)."""
    customer("ana@example.it", locale="it")
    raw = compose(subject="Rimborso", body="Vorrei il rimborso dell'ordine A-1001, addebitato due volte.")
    (result,) = load_handler("route_complaint").lambda_handler(ses_event(raw), lambda_context)["cases"]
    assert _resolve(result["case_id"], lambda_context) == 200
    assert _resolve(result["case_id"], lambda_context) == 200
    return str(result["case_id"])


def test_a_resolved_case_gets_one_nps_survey_a_day_later(stack, resolved_case, frozen_clock, lambda_context):
    send_due(lambda_context)
    assert surveys_in(stack) == []
    frozen_clock.advance(timedelta(days=1))
    send_due(lambda_context)
    send_due(lambda_context)

    (mail,) = surveys_in(stack, "ana@example.it")
    assert sorted(score_links(mail)) == list(range(11))
    assert "Quanto è probabile che ci consiglieresti" in mail.subject


def test_a_low_score_after_a_case_reopens_that_case_instead_of_opening_another(
    stack, resolved_case, frozen_clock, lambda_context
) -> None:
    frozen_clock.advance(timedelta(days=1))
    send_due(lambda_context)
    (mail,) = surveys_in(stack, "ana@example.it")
    helpdesk_messages()  # the complaint's own notice

    for _ in range(5):
        answer(score_links(mail)[3], 3, lambda_context, "Il rimborso non è mai arrivato")

    from crm_core.models import contact_id_for

    (case,) = cases_of(contact_id_for("ana@example.it"))
    assert case.case_id == resolved_case and case.status == "open" and case.reopened == 1
    assert case.priority == "P2"  # billing is P3 for Ana; the low score raises the reopened case one level
    _, body = _get_case(resolved_case, lambda_context)
    assert [e["text"] for e in body["events"] if e["kind"] == "survey"] == ["Il rimborso non è mai arrivato"]
    assert [m["type"] for m in helpdesk_messages()] == ["case.reply"]


def test_a_high_score_after_a_case_invites_a_review_when_a_link_is_set(
    stack, resolved_case, frozen_clock, lambda_context, monkeypatch
) -> None:
    monkeypatch.setenv("SURVEY_REVIEW_URL", "https://reviews.example.com/example-shop")
    reset_settings()
    frozen_clock.advance(timedelta(days=1))
    send_due(lambda_context)
    (mail,) = surveys_in(stack, "ana@example.it")

    page = answer(score_links(mail)[10], 10, lambda_context)
    passive = answer(score_links(mail)[10], 8, lambda_context)

    assert 'href="https://reviews.example.com/example-shop"' in page["body"]
    assert "reviews.example.com" not in passive["body"]
    assert [c.status for c in Case.by_contact.query(mail_contact(mail))] == ["resolved"]


def mail_contact(mail) -> str:
    from crm_core.models import contact_id_for

    return contact_id_for(mail.to)


def test_a_dismissed_quarantined_case_gets_no_survey(stack, frozen_clock, lambda_context) -> None:
    raw = compose(subject="WIN A PRIZE", body="Click here")
    event = ses_event(raw, spam="FAIL")
    (result,) = load_handler("route_complaint").lambda_handler(event, lambda_context)["cases"]
    assert result["status"] == "quarantined"
    assert _resolve(result["case_id"], lambda_context) == 200

    frozen_clock.advance(timedelta(days=2))
    send_due(lambda_context)
    assert surveys_in(stack) == []


def test_a_stale_copy_of_the_answer_cannot_overwrite_a_newer_one(
    purchase_survey, frozen_clock, lambda_context
):
    # moto is not atomic under threads: prove the optimistic lock deterministically with a stale read.
    from crm_core.surveys import answers, definitions, invitations

    answer(purchase_survey[4], 4, lambda_context)
    token = dict(parse_qsl(urlsplit(purchase_survey[4]).query))["token"]
    ticket = links.verify(token, frozen_clock.now())
    survey = definitions.load().get("after-purchase")
    invitation = invitations.get_invitation(ticket.contact_id, ticket.survey, ticket.occasion)
    (read,) = answers_of(ana())

    newer = answers._write(ticket, survey, invitation, read, 5, "", "it", frozen_clock.now())
    stale = answers._write(ticket, survey, invitation, read, 2, "", "it", frozen_clock.now())

    assert newer is not None and stale is None
    (recorded,) = answers_of(ana())
    assert (recorded.score, recorded.revision) == (5, 2)
    (day,) = stats("after-purchase")
    assert (day.answered, day.score_counts()) == (1, {5: 1})


def test_a_case_from_unverified_mail_gets_no_survey(stack, frozen_clock, lambda_context) -> None:
    raw = compose(subject="Rimborso", body="Vorrei il rimborso dell'ordine A-1001.")
    (result,) = load_handler("route_complaint").lambda_handler(ses_event(raw, dmarc="FAIL"), lambda_context)[
        "cases"
    ]
    assert result["status"] == "open"  # kept and routed, but the sender's address is not proven
    assert _resolve(result["case_id"], lambda_context) == 200

    frozen_clock.advance(timedelta(days=2))
    send_due(lambda_context)
    assert surveys_in(stack) == []


def test_every_answer_tells_the_lifecycle_on_the_bus_and_a_repeat_names_the_same_answer(
    stack, purchase_survey, lambda_context
) -> None:
    url = bus_listener(stack, "survey-signals", ["crm.survey.answered"])

    answer(purchase_survey[4], 4, lambda_context, "Tutto bene")
    answer(purchase_survey[4], 4, lambda_context, "Tutto bene")  # a double submit
    answer(purchase_survey[2], 2, lambda_context, "Arrivato rotto")  # changed: a new revision

    events = bus_received(url)
    assert {(e["source"], e["detail-type"]) for e in events} == {("crm.surveys", "crm.survey.answered")}
    details = [e["detail"] for e in events]
    ids = [d["answer_id"] for d in details]
    assert len(ids) == 3 and len(set(ids)) == 2  # the repeat names the answer it repeats
    assert {d["contact_id"] for d in details} == {ana()}
    assert all(d["answered_at"] for d in details)


@pytest.mark.parametrize(
    ("body", "is_base64"),
    [
        (b"score=\xf0\x28\x8c&comment=\xff\xfe", None),  # not UTF-8, base64 as API Gateway sends forms
        ("score=!!not-base64!!", True),  # says base64, is not
    ],
)
def test_a_form_that_is_not_utf8_gets_the_forms_400_page_not_a_crash(
    purchase_survey, lambda_context, body, is_base64
) -> None:
    parts = urlsplit(purchase_survey[4])
    headers = {"content-type": "application/x-www-form-urlencoded"}
    event = http_event(
        "POST", parts.path, query=parts.query, headers=headers, body=body, base64_body=is_base64
    )
    page = load_handler("answer_survey").lambda_handler(event, lambda_context)

    assert page["statusCode"] == 400
    assert "text/html" in page["headers"]["Content-Type"]
    assert answers_of(ana()) == []


def test_a_low_score_gives_the_contacts_owner_one_call_task_however_often_it_is_answered(
    purchase_survey, lambda_context
) -> None:
    from crm_core.owners import service as owners

    owners.set_owner(ana(), "giulia", by="test")
    answer(purchase_survey[5], 5, lambda_context)  # a happy answer: nothing to do
    assert owners.list_tasks(ana())["tasks"] == []
    for _ in range(3):
        answer(purchase_survey[1], 1, lambda_context, "Non funziona")
    answer(purchase_survey[2], 2, lambda_context, "Ancora scontento")  # changed, still low: the same call

    (task,) = owners.list_tasks(ana())["tasks"]
    assert task["created_by"] == "rule:low-survey-score" and task["status"] == "open"
