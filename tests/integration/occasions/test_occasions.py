"""Birthday and anniversary greetings: the right local day and hour, once, to those who want one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from crm_core import aws, loyalty
from crm_core.campaigns.pacing import RateLimiter
from crm_core.clock import FrozenClock
from crm_core.errors import RetryableError
from crm_core.loyalty.ledger import current_rules
from crm_core.messaging import suppressions
from crm_core.models import Contact, SentMessage, contact_id_for
from crm_core.models.contacts import Consent
from crm_core.occasions import send_occasions, store
from crm_core.settings import reset_settings
from tests.helpers import load_handler
from tests.occasions_support import add_contact, outbox, production_send_rate


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _ledger(address: str, kind: str, occurrence: str) -> SentMessage:
    return SentMessage.get(f"{contact_id_for(address)}#{kind}#{occurrence}")


@pytest.fixture(autouse=True)
def _production_send_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    production_send_rate(monkeypatch)


@pytest.fixture
def fake_loyalty(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A fake `crm_core.loyalty` granting 150 points once per contact and year (as the ledger would)."""
    state: dict[str, Any] = {"calls": [], "granted": set(), "fail": None}

    def grant_birthday_bonus(contact_id: str, year: int) -> int:
        state["calls"].append((contact_id, year))
        if state["fail"] is not None:
            raise state["fail"]
        state["granted"].add((contact_id, year))
        return 150

    monkeypatch.setattr(loyalty, "grant_birthday_bonus", grant_birthday_bonus)
    yield state


# ---------------------------------------------------------------- the right day and hour, once


def test_birthday_greeting_goes_out_at_nine_local_time_once(stack, frozen_clock: FrozenClock) -> None:
    add_contact(
        "rosa@example.com", birthday="1988-03-10", time_zone="Europe/Rome", locale="it", first_name="Rosa"
    )

    frozen_clock.set(_at("2027-03-10T07:05:00Z"))  # 08:05 in Rome: too early
    early = send_occasions()
    frozen_clock.set(_at("2027-03-10T08:05:00Z"))  # 09:05 in Rome
    on_time = send_occasions()
    replay = send_occasions()
    frozen_clock.set(_at("2027-03-10T15:05:00Z"))
    later = send_occasions()

    assert (early.candidates, early.due, early.sent) == (1, 0, 0)
    assert on_time.sent == 1
    assert replay.sent == 0 and replay.already == 1
    assert later.sent == 0 and later.already == 1
    [mail] = outbox(stack)
    assert mail.to == "rosa@example.com"
    assert mail.subject == "Buon compleanno, Rosa!"
    assert "tanti auguri" in mail.text
    assert "/unsubscribe?token=" in mail.text and "/unsubscribe?token=" in mail.html
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    record = _ledger("rosa@example.com", "birthday", "2027")
    assert record.status == "sent" and record.ses_message_id == mail.ses_message_id


def test_anniversary_greeting_counts_the_years_since_the_first_purchase(
    stack, frozen_clock: FrozenClock
) -> None:
    add_contact("ana@example.com", customer_since="2024-06-01", time_zone="Europe/Berlin", locale="de")
    add_contact("neu@example.com", customer_since="2027-06-01", time_zone="Europe/Berlin")  # first year

    frozen_clock.set(_at("2027-06-01T07:05:00Z"))  # 09:05 CEST
    report = send_occasions()

    assert report.sent == 1
    [mail] = outbox(stack)
    assert mail.to == "ana@example.com"
    assert mail.subject == "3 Jahre gemeinsam: danke!"
    assert "heute vor 3 Jahren" in mail.text


def test_a_greeting_is_never_sent_on_the_day_before_or_after(stack, frozen_clock: FrozenClock) -> None:
    add_contact("joko@example.com", birthday="--05-20", time_zone="Asia/Jakarta")

    # 19 May 23:05 UTC is already 20 May 06:05 in Jakarta: the date is in play, the hour not yet.
    for instant in ("2027-05-19T12:05:00Z", "2027-05-19T23:05:00Z", "2027-05-20T17:05:00Z"):
        frozen_clock.set(_at(instant))
        assert send_occasions().sent == 0, instant  # the 19th; 06:05 WIB on the 20th; the 21st 00:05 WIB
    assert outbox(stack) == []


def test_the_run_reads_only_the_partitions_of_the_dates_in_play(stack, frozen_clock: FrozenClock) -> None:
    add_contact("today@example.com", birthday="--07-14", time_zone="Europe/Paris")
    for day in ("07-01", "08-14", "12-25"):
        add_contact(f"other-{day}@example.com", birthday=f"--{day}", customer_since=f"2020-{day}")

    frozen_clock.set(_at("2027-07-14T12:05:00Z"))  # 14 July everywhere; 15 July not yet 09:00 anywhere
    report = send_occasions()

    assert report.month_days == ["07-14"]
    assert report.reads.queries == 2 * 4  # two indexes, four shards, one month-day
    assert report.candidates == 1 and report.reads.contacts == 1
    assert report.sent == 1


# ---------------------------------------------------------------- outages and quiet hours


def test_a_run_missed_by_an_outage_is_caught_up_the_same_local_day(stack, frozen_clock: FrozenClock) -> None:
    add_contact("nate@example.com", birthday="1985-08-02", time_zone="America/New_York")

    frozen_clock.set(_at("2027-08-02T19:05:00Z"))  # 15:05 EDT: the runs since 09:00 were lost
    report = send_occasions()

    assert report.sent == 1
    assert _ledger("nate@example.com", "birthday", "2027").status == "sent"


def test_an_outage_that_lasts_the_whole_day_is_not_caught_up_the_next_day(
    stack, frozen_clock: FrozenClock
) -> None:
    add_contact("nate@example.com", birthday="1985-08-02", time_zone="America/New_York")

    frozen_clock.set(_at("2027-08-03T13:05:00Z"))  # 09:05 EDT on the 3rd: back, one day late
    report = send_occasions()

    assert report.sent == 0 and outbox(stack) == []
    with pytest.raises(SentMessage.DoesNotExist):
        _ledger("nate@example.com", "birthday", "2027")


def test_a_catch_up_inside_the_evening_quiet_hours_is_recorded_missed_and_never_sent(
    stack, frozen_clock: FrozenClock
) -> None:
    add_contact("rosa@example.com", birthday="--09-15", time_zone="Europe/Rome")

    with mock.patch("crm_core.occasions.run.count") as counted:
        frozen_clock.set(_at("2027-09-15T19:30:00Z"))  # 21:30 in Rome: quiet until 08:00 tomorrow
        evening = send_occasions()
        frozen_clock.set(_at("2027-09-15T21:05:00Z"))  # 23:05: still the 15th
        late = send_occasions()
        frozen_clock.set(_at("2027-09-16T07:05:00Z"))  # 09:05 on the 16th
        next_day = send_occasions()

    assert evening.missed == 1 and evening.sent == 0
    assert late.missed == 0 and late.already == 1
    assert next_day.due == 0 and next_day.sent == 0
    assert outbox(stack) == []
    record = _ledger("rosa@example.com", "birthday", "2027")
    assert (record.status, record.reason) == ("skipped", "quiet-hours")
    assert [c.args[0] for c in counted.call_args_list].count("OccasionsMissed") == 1


def test_a_send_hour_before_the_end_of_quiet_hours_waits_for_it_the_same_day(
    stack, frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCCASION_SEND_HOUR", "6")
    reset_settings()
    add_contact("rosa@example.com", birthday="--09-15", time_zone="Europe/Rome")

    frozen_clock.set(_at("2027-09-15T04:05:00Z"))  # 06:05 in Rome: due, but quiet until 08:00
    quiet = send_occasions()
    frozen_clock.set(_at("2027-09-15T06:05:00Z"))  # 08:05
    morning = send_occasions()

    assert (quiet.deferred, quiet.sent, quiet.missed) == (1, 0, 0)
    assert morning.sent == 1


def test_a_failed_send_is_retried_by_the_next_run(stack, frozen_clock: FrozenClock) -> None:
    add_contact("rosa@example.com", birthday="--09-15", time_zone="Europe/Rome")
    throttled = ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow"}}, "SendEmail")

    frozen_clock.set(_at("2027-09-15T07:05:00Z"))
    with mock.patch.object(aws.sesv2(), "send_email", side_effect=throttled):
        failed = send_occasions()
    frozen_clock.set(_at("2027-09-15T08:05:00Z"))
    retried = send_occasions()

    assert failed.failed == 1 and failed.sent == 0
    assert retried.sent == 1
    assert len(outbox(stack)) == 1


def test_greetings_are_paced_under_the_sending_rate(stack, frozen_clock: FrozenClock) -> None:
    for n in range(5):
        add_contact(f"friend{n}@example.com", birthday="--09-15", time_zone="Europe/Rome")
    ticks, sleeps = [0.0], []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        ticks[0] += seconds

    limiter = RateLimiter(2, monotonic=lambda: ticks[0], sleep=sleep)  # SES would allow 2 a second
    frozen_clock.set(_at("2027-09-15T07:05:00Z"))
    report = send_occasions(limiter=limiter)

    assert report.sent == 5
    assert len(sleeps) == 2 and ticks[0] >= 2.0  # sends 3 and 5 waited for the next second


def test_a_run_that_greets_nobody_never_asks_ses_for_its_quota(stack, frozen_clock: FrozenClock) -> None:
    add_contact("rosa@example.com", birthday="--09-15", time_zone="Europe/Rome")
    quota = {"Max24HourSend": 200.0, "MaxSendRate": 1.0, "SentLast24Hours": 0.0}

    with mock.patch.object(aws.ses(), "get_send_quota", return_value=quota) as asked:
        frozen_clock.set(_at("2027-09-14T07:05:00Z"))
        send_occasions()
        quiet_hour = asked.call_count
        frozen_clock.set(_at("2027-09-15T07:05:00Z"))
        send_occasions()

    assert quiet_hour == 0 and asked.call_count == 1


def test_a_run_close_to_its_timeout_leaves_the_rest_to_the_next_run(stack, frozen_clock: FrozenClock) -> None:
    add_contact("rosa@example.com", birthday="--09-15", time_zone="Europe/Rome")

    frozen_clock.set(_at("2027-09-15T07:05:00Z"))
    short = send_occasions(remaining_ms=lambda: 5_000)  # less than the safety margin
    frozen_clock.set(_at("2027-09-15T08:05:00Z"))
    next_run = send_occasions(remaining_ms=lambda: 600_000)

    assert (short.stopped, short.sent) == ("time", 0)
    assert next_run.sent == 1 and next_run.stopped is None


# ---------------------------------------------------------------- who gets no greeting


def test_contacts_who_opted_out_or_refused_consent_get_no_greeting(stack, frozen_clock: FrozenClock) -> None:
    add_contact("out@example.com", birthday="--04-04", time_zone="Europe/Rome", marketing_opt_out=True)
    add_contact(
        "no@example.com",
        birthday="--04-04",
        time_zone="Europe/Rome",
        consent=Consent(granted=False, at="2026-01-01T00:00:00Z"),
    )
    add_contact(
        "yes@example.com",
        birthday="--04-04",
        time_zone="Europe/Rome",
        consent=Consent(granted=True, at="2026-01-01T00:00:00Z"),
    )

    frozen_clock.set(_at("2027-04-04T08:05:00Z"))
    report = send_occasions()
    again = send_occasions()

    assert (report.sent, report.opted_out) == (1, 2)
    assert [m.to for m in outbox(stack)] == ["yes@example.com"]
    assert _ledger("out@example.com", "birthday", "2027").reason == "opted-out"
    assert again.already == 3 and again.sent == 0


def test_a_suppressed_address_gets_no_greeting(stack, frozen_clock: FrozenClock) -> None:
    add_contact("gone@example.com", birthday="--04-04", time_zone="Europe/Rome")
    suppressions.suppress(
        "gone@example.com", scope="marketing", reason="unsubscribed", now=frozen_clock.now()
    )

    frozen_clock.set(_at("2027-04-04T08:05:00Z"))
    report = send_occasions()

    assert report.suppressed == 1 and outbox(stack) == []
    assert _ledger("gone@example.com", "birthday", "2027").status == "skipped"


def test_an_open_complaint_pauses_the_greeting_until_it_is_resolved_the_same_day(
    stack, frozen_clock: FrozenClock
) -> None:
    contact = add_contact("upset@example.com", birthday="--04-04", time_zone="Europe/Rome", open_cases=1)

    frozen_clock.set(_at("2027-04-04T08:05:00Z"))
    paused = send_occasions()
    Contact.get(contact.contact_id).update(actions=[Contact.open_cases.set(0)])  # the case is resolved
    frozen_clock.set(_at("2027-04-04T12:05:00Z"))
    resolved = send_occasions()

    assert paused.paused == 1 and paused.sent == 0
    assert resolved.sent == 1


# ---------------------------------------------------------------- zones and bad data


def test_a_contact_without_a_usable_zone_is_greeted_in_the_business_zone(
    stack, frozen_clock: FrozenClock
) -> None:
    add_contact("nozone@example.com", birthday="--10-10")
    add_contact("badzone@example.com", birthday="--10-10", time_zone="Mars/Olympus_Mons")

    frozen_clock.set(_at("2027-10-10T06:05:00Z"))  # 08:05 in Rome (DEFAULT_TIME_ZONE)
    early = send_occasions()
    frozen_clock.set(_at("2027-10-10T07:05:00Z"))  # 09:05 in Rome
    on_time = send_occasions()

    assert early.sent == 0
    assert on_time.sent == 2
    assert sorted(m.to for m in outbox(stack)) == ["badzone@example.com", "nozone@example.com"]


def test_an_unreadable_date_is_reported_and_does_not_stop_the_others(
    stack, frozen_clock: FrozenClock
) -> None:
    add_contact("good@example.com", birthday="--10-10", time_zone="Europe/Rome")
    bad = add_contact("bad@example.com", birthday="--10-10", time_zone="Europe/Rome")
    bad.update(actions=[Contact.birthday.set("10/10/1990")])  # written by hand, keeping its index key

    frozen_clock.set(_at("2027-10-10T08:05:00Z"))
    report = send_occasions()

    assert report.invalid == 1 and report.sent == 1


def test_a_contact_listed_by_a_stale_index_entry_but_since_deleted_is_ignored(
    stack, frozen_clock: FrozenClock
) -> None:
    add_contact("gone@example.com", birthday="--10-10", time_zone="Europe/Rome")
    frozen_clock.set(_at("2027-10-10T08:05:00Z"))
    real_ids = store.contact_ids_on

    def with_a_ghost(*args: Any) -> list[str]:
        return [*real_ids(*args), "ct_deletedmeanwhile"]

    with mock.patch("crm_core.occasions.store.contact_ids_on", side_effect=with_a_ghost):
        report = send_occasions()

    assert report.sent == 1


# ---------------------------------------------------------------- the birthday reward


def test_the_birthday_bonus_is_granted_once_in_the_loyalty_ledger_and_mentioned_in_the_greeting(
    stack, frozen_clock: FrozenClock
) -> None:
    """The real crm_core.loyalty: the points come from its earning rules, the entry from its ledger."""
    add_contact(
        "rosa@example.com", birthday="--03-10", time_zone="Europe/Rome", locale="en", first_name="Rosa"
    )
    add_contact("ana@example.com", customer_since="2020-03-10", time_zone="Europe/Rome")
    frozen_clock.set(_at("2027-03-10T08:05:00Z"))
    points = current_rules(frozen_clock.now()).birthday_points(None)  # a contact with no tier yet
    assert points > 0

    send_occasions()
    send_occasions()

    by_address = {m.to: m for m in outbox(stack)}
    assert f"{points} bonus points" in by_address["rosa@example.com"].text
    assert f"{points} bonus points" in by_address["rosa@example.com"].html
    assert "points" not in by_address["ana@example.com"].text  # anniversaries carry no bonus
    entries = loyalty.history(contact_id_for("rosa@example.com")).entries
    assert [(e["id"], e["points"]) for e in entries] == [("birthday#2027", points)]
    assert loyalty.summary(contact_id_for("rosa@example.com")).body["balance"] == points
    assert loyalty.history(contact_id_for("ana@example.com")).entries == []


def test_a_replayed_bonus_asks_the_ledger_once_and_names_the_same_points(
    stack, frozen_clock: FrozenClock, fake_loyalty: dict[str, Any]
) -> None:
    add_contact("rosa@example.com", birthday="--03-10", time_zone="Europe/Rome", locale="en")

    frozen_clock.set(_at("2027-03-10T08:05:00Z"))
    send_occasions()
    send_occasions()

    [mail] = outbox(stack)
    assert "150 bonus points" in mail.text
    assert fake_loyalty["granted"] == {(contact_id_for("rosa@example.com"), 2027)}
    assert len(fake_loyalty["calls"]) == 1  # the replay found the greeting settled and asked nothing


def test_no_bonus_is_promised_when_the_reward_is_switched_off(
    stack, frozen_clock: FrozenClock, fake_loyalty: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIRTHDAY_BONUS_ENABLED", "false")
    reset_settings()
    add_contact("rosa@example.com", birthday="--03-10", time_zone="Europe/Rome")

    frozen_clock.set(_at("2027-03-10T08:05:00Z"))
    send_occasions()

    [mail] = outbox(stack)
    assert "bonus" not in mail.text
    assert fake_loyalty["calls"] == []


def test_a_loyalty_failure_delays_the_greeting_rather_than_promising_points_not_granted(
    stack, frozen_clock: FrozenClock, fake_loyalty: dict[str, Any]
) -> None:
    add_contact("rosa@example.com", birthday="--03-10", time_zone="Europe/Rome")
    add_contact("other@example.com", birthday="--03-10", time_zone="Europe/Rome")
    fake_loyalty["fail"] = RetryableError("ledger throttled")

    frozen_clock.set(_at("2027-03-10T08:05:00Z"))
    with pytest.raises(RetryableError, match="2 greeting"):
        send_occasions()
    fake_loyalty["fail"] = None
    frozen_clock.set(_at("2027-03-10T09:05:00Z"))
    report = send_occasions()

    assert report.sent == 2
    assert all("150 bonus points" in m.text for m in outbox(stack))


# ---------------------------------------------------------------- the handler


def test_the_scheduled_handler_runs_once_per_event_and_a_replay_sends_nothing(
    stack, frozen_clock: FrozenClock, lambda_context: Any
) -> None:
    handler = load_handler("send_occasions")
    add_contact("rosa@example.com", birthday="--03-10", time_zone="Europe/Rome")
    event = {
        "version": "0",
        "id": "5f2a3c8e-0000-4000-8000-000000000001",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2027-03-10T08:05:00Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/occasions-hourly"],
        "detail": {},
    }

    frozen_clock.set(_at("2027-03-10T08:05:00Z"))
    first = handler.lambda_handler(event, lambda_context)
    second = handler.lambda_handler(event, lambda_context)

    assert first["sent"] == 1 and second["sent"] == 0 and second["already"] == 1
    assert len(outbox(stack)) == 1


@pytest.mark.filterwarnings("ignore:No application metrics")  # the failed run never got to count anything
def test_a_throttled_index_read_fails_the_invocation_so_it_is_retried(
    stack, frozen_clock: FrozenClock, lambda_context: Any
) -> None:
    handler = load_handler("send_occasions")
    add_contact("rosa@example.com", birthday="--03-10", time_zone="Europe/Rome")
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "Query"
    )
    frozen_clock.set(_at("2027-03-10T08:05:00Z"))

    # moto never throttles: the client's Query is made to raise what DynamoDB raises after retries.
    with mock.patch.object(aws.dynamodb(), "query", side_effect=throttled), pytest.raises(ClientError):
        handler.lambda_handler({"id": "evt-1", "time": "2027-03-10T08:05:00Z"}, lambda_context)
    retried = handler.lambda_handler({"id": "evt-1", "time": "2027-03-10T08:05:00Z"}, lambda_context)

    assert retried["sent"] == 1
