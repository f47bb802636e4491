"""The local stack's pure parts: schedule expressions, API Gateway answer rules, clock durations."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra.local import expressions, gateway
from infra.local.server import advance
from infra.local.triggers import Schedules, _failed_ids
from infra.template import Template

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "local_stack" / "template.yaml"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ---- schedule expressions ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 2 * * ? *)", "2027-01-01 02:00", "2027-01-02 02:00"),
        ("cron(0 2 * * ? *)", "2027-01-01 01:59", "2027-01-01 02:00"),
        ("cron(*/15 * * * ? *)", "2027-01-01 10:07", "2027-01-01 10:15"),
        ("cron(0 9 ? * MON-FRI *)", "2027-01-01 10:00", "2027-01-04 09:00"),  # Fri -> Mon
        ("cron(0 9 ? * 2 *)", "2027-01-01 10:00", "2027-01-04 09:00"),  # 2 is Monday in AWS cron
        ("cron(0 0 L * ? *)", "2027-02-01 00:00", "2027-02-28 00:00"),
        ("cron(0 0 ? * 6L *)", "2027-01-01 00:00", "2027-01-29 00:00"),  # last Friday
        ("cron(0 0 ? * 2#1 *)", "2027-01-01 00:00", "2027-01-04 00:00"),  # first Monday
        ("cron(30 8 1 JAN,JUL ? 2028)", "2027-01-01 00:00", "2028-01-01 08:30"),
    ],
)
def test_cron_expressions_fire_when_eventbridge_would(expression: str, after: str, expected: str) -> None:
    parsed = expressions.parse(expression)

    assert parsed.next_after(at(after), at(after)) == at(expected)


def test_cron_in_a_time_zone_fires_at_that_zone_local_hour() -> None:
    parsed = expressions.parse("cron(0 9 * * ? *)", "Europe/Rome")

    assert parsed.next_after(at("2027-07-01 00:00"), at("2027-07-01 00:00")) == at("2027-07-01 07:00")


def test_rates_count_from_when_the_schedule_began() -> None:
    parsed = expressions.parse("rate(5 minutes)")

    assert parsed.next_after(at("2027-01-01 00:07"), at("2027-01-01 00:00")) == at("2027-01-01 00:10")
    assert expressions.parse("rate(1 day)") == expressions.Rate(86400)


@pytest.mark.parametrize(
    "bad", ["every day", "rate(0 minutes)", "rate(5 fortnights)", "cron(0 2 * *)", "cron(0 0 1W * ? *)"]
)
def test_unreadable_expressions_are_refused(bad: str) -> None:
    with pytest.raises(expressions.ExpressionError):
        expressions.parse(bad)


def test_auto_mode_fires_a_due_schedule_once_even_after_a_long_jump() -> None:
    schedules = Schedules(Template(path=FIXTURE), runtime=None)  # type: ignore[arg-type]
    schedules.started = at("2027-01-01 00:00")

    assert schedules.due(at("2027-01-01 00:04")) == []
    assert [s.event for s in schedules.due(at("2027-01-01 00:05"))] == ["EveryFiveMinutes"]
    jumped = [s.event for s in schedules.due(at("2027-03-01 00:00"))]
    assert jumped == ["EveryFiveMinutes", "Nightly"]
    assert schedules.due(at("2027-03-01 00:00")) == []


# ---- API Gateway answers ----------------------------------------------------------------------------
def test_a_structured_answer_keeps_status_headers_cookies_and_base64_bodies() -> None:
    answer = gateway.http_answer(
        {
            "statusCode": 303,
            "headers": {"location": "/thanks", "x-flag": True},
            "cookies": ["a=1", "b=2"],
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )

    assert answer.status == 303
    assert ("location", "/thanks") in answer.headers and ("x-flag", "true") in answer.headers
    assert [v for k, v in answer.headers if k == "set-cookie"] == ["a=1", "b=2"]
    assert answer.body == b"\x00\x01"


@pytest.mark.parametrize(("result", "body"), [({"ok": 1}, b'{"ok": 1}'), ("hi", b'"hi"'), (None, b"null")])
def test_any_other_answer_is_a_200_json_document(result: object, body: bytes) -> None:
    answer = gateway.http_answer(result)

    assert (answer.status, answer.body) == (200, body)
    assert answer.headers == [("content-type", "application/json")]


@pytest.mark.parametrize("result", [{"statusCode": "abc"}, {"statusCode": 200, "body": {"not": "a string"}}])
def test_answers_api_gateway_rejects_are_refused(result: dict) -> None:
    with pytest.raises(gateway.BadAnswer):
        gateway.http_answer(result)


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("application/json", True),
        ("text/html; charset=utf-8", True),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
        ("", False),
    ],
)
def test_only_json_and_text_bodies_arrive_as_text(content_type: str, text: bool) -> None:
    assert gateway.is_text(content_type) is text


def test_partial_batch_failures_follow_lambda_rules() -> None:
    ids = ["a", "b", "c"]

    assert _failed_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, None, ids, partial=True) == ["b"]
    assert _failed_ids({"batchItemFailures": []}, None, ids, partial=True) == []
    assert _failed_ids(None, None, ids, partial=True) == []
    assert _failed_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, None, ids, partial=True) == ids
    assert _failed_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, None, ids, partial=False) == []
    assert _failed_ids(None, {"errorMessage": "x"}, ids, partial=True) == ids


# ---- the clock --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (90, "2027-01-31 10:01:30"),
        ("PT2H", "2027-01-31 12:00"),
        ("P1D", "2027-02-01 10:00"),
        ("P1M", "2027-02-28 10:00"),
        ("P1Y", "2028-01-31 10:00"),
        ("P1W", "2027-02-07 10:00"),
    ],
)
def test_the_clock_advances_by_seconds_or_iso_durations(amount: object, expected: str) -> None:
    assert advance(at("2027-01-31 10:00"), amount) == at(expected)


@pytest.mark.parametrize("bad", ["P", "tomorrow", "1D"])
def test_unreadable_durations_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="advance"):
        advance(at("2027-01-31 10:00"), bad)
