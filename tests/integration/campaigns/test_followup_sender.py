"""The scheduled follow-up run against moto: each step once, on time, in the contact's window."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from crm_core import aws, campaigns
from crm_core.campaigns import sender, transitions
from crm_core.campaigns.enrollment import enroll
from crm_core.campaigns.pacing import RateLimiter
from crm_core.messaging import suppressions
from crm_core.models import Contact, Enrollment, SentMessage, contact_id_for
from crm_core.models.contacts import Consent
from tests.followups_kit import FakeTime, outbox

WELCOME = "Thanks for getting in touch with Example Shop"
TIPS = "Three tips to get the most out of Example Shop"
CHECK_IN_PREFIX = "How is it going"


def lead(
    email: str,
    *,
    first_name: str = "Ana",
    locale: str = "en",
    zone: str = "Europe/Rome",
    consent: bool = True,
    **extra: Any,
) -> str:
    contact_id = contact_id_for(email)
    Contact(
        contact_id,
        email=email,
        first_name=first_name,
        locale=locale,
        time_zone=zone,
        consent=Consent(granted=consent, at="2026-11-23T10:00:00Z"),
        **extra,
    ).save()
    return contact_id


def run(**kwargs: Any) -> sender.RunReport:
    """One scheduled run with a limiter that never waits for real."""
    fake = FakeTime()
    kwargs.setdefault("limiter", RateLimiter(1000, monotonic=fake.monotonic, sleep=fake.sleep))
    return sender.run(**kwargs)


def subjects(stack: Any, to: str | None = None) -> list[str]:
    return [m.subject for m in outbox(stack) if to is None or m.to == to]


def enrollment(contact_id: str, key: str) -> Enrollment:
    return Enrollment.get(contact_id, key, consistent_read=True)


def test_a_new_lead_gets_its_welcome_then_tips_after_two_days_then_a_check_in(stack, frozen_clock) -> None:
    contact_id = lead("ana@example.com")
    enroll(contact_id, "welcome", at=frozen_clock.now())  # Monday 23 Nov 2026, 11:00 in Rome

    run()
    assert subjects(stack) == [WELCOME]
    frozen_clock.advance(timedelta(days=1, hours=23))
    run()
    assert len(subjects(stack)) == 1  # tips are not due yet
    frozen_clock.advance(timedelta(hours=1))
    run()
    frozen_clock.advance(timedelta(days=5))
    run()

    assert subjects(stack) == [WELCOME, TIPS, "How is it going, Ana?"]
    check_in = outbox(stack)[2]
    assert check_in.headers["Reply-To"] == "support@example.com"
    assert "List-Unsubscribe" not in outbox(stack)[0].headers  # the welcome answers their form
    done = enrollment(contact_id, "welcome")
    assert (done.status, done.step, done.due_shard, done.due_at) == ("completed", 3, None, None)
    assert list(sender.due_enrollments(frozen_clock.now() + timedelta(days=365))) == []


def test_replaying_the_run_five_times_sends_each_step_once(stack, frozen_clock) -> None:
    people = [f"p{i}@example.com" for i in range(4)]
    for address in people:
        enroll(lead(address), "welcome", at=frozen_clock.now())

    for days in (0, 2, 7):
        frozen_clock.set(datetime(2026, 11, 23, 10, tzinfo=UTC) + timedelta(days=days))
        for _ in range(5):
            run()

    sent = Counter((m.to, m.subject) for m in outbox(stack))
    assert len(sent) == 12 and set(sent.values()) == {1}
    assert {m.to for m in outbox(stack)} == set(people)
    assert {SentMessage.get(f"{contact_id_for(a)}#welcome.tips#welcome").status for a in people} == {"sent"}


def test_with_ses_refusing_one_send_in_ten_every_message_still_goes_out_exactly_once(
    stack, frozen_clock
) -> None:
    # moto's SES never fails: this fake raises what SES v2 raises when it throttles or errs.
    people = [f"f{i}@example.com" for i in range(8)]
    for address in people:
        enroll(lead(address), "welcome", at=frozen_clock.now())
    real_send, dice, refused = aws.sesv2().send_email, random.Random(11), Counter()

    def flaky_send(**request: Any) -> Any:
        if dice.random() < 0.1:
            code = dice.choice(["TooManyRequestsException", "InternalFailure", "ServiceUnavailable"])
            refused[code] += 1
            raise ClientError({"Error": {"Code": code, "Message": "try again"}}, "SendEmail")
        return real_send(**request)

    with mock.patch.object(aws.sesv2(), "send_email", side_effect=flaky_send):
        for days in (0, 2, 7):
            frozen_clock.set(datetime(2026, 11, 23, 10, tzinfo=UTC) + timedelta(days=days))
            while list(sender.due_enrollments(frozen_clock.now())):  # five-minute runs until done
                run()
                frozen_clock.advance(timedelta(minutes=5))

    assert sum(refused.values()) >= 3  # of 24 messages (the dice are seeded: the same every time)
    sent = Counter((m.to, m.subject.split(",")[0]) for m in outbox(stack))
    assert len(sent) == 24 and set(sent.values()) == {1}
    states = {e.status for a in people for e in Enrollment.query(contact_id_for(a))}
    assert states == {"completed"}


def test_a_run_stopped_between_claim_and_send_sends_on_a_later_run_once(stack, frozen_clock) -> None:
    class LambdaTimedOut(BaseException):
        """What the sandbox's end looks like from inside: nothing after it runs."""

    contact_id = lead("crash@example.com")
    enroll(contact_id, "welcome", at=frozen_clock.now())
    with (
        mock.patch.object(aws.sesv2(), "send_email", side_effect=LambdaTimedOut),
        pytest.raises(LambdaTimedOut),
    ):
        run()
    claim = SentMessage.get(f"{contact_id}#welcome.hello#welcome")
    assert claim.status == "claimed" and subjects(stack) == []

    frozen_clock.advance(timedelta(minutes=5))
    assert run().outcomes == {"in-progress": 1}  # the claim may still be live: wait out the grace
    frozen_clock.advance(timedelta(minutes=11))
    assert run().outcomes == {"sent": 1}
    for _ in range(3):
        frozen_clock.advance(timedelta(minutes=5))
        run()
    assert subjects(stack) == [WELCOME]


def test_ses_failing_every_send_stops_the_run_and_leaves_the_rest(stack, frozen_clock) -> None:
    for i in range(8):
        enroll(lead(f"down{i}@example.com"), "welcome", at=frozen_clock.now())
    paused = ClientError({"Error": {"Code": "SendingPausedException", "Message": "paused"}}, "SendEmail")
    with mock.patch.object(aws.sesv2(), "send_email", side_effect=paused) as send:
        report = run()
    assert report.stopped == "ses-failing" and send.call_count == sender.MAX_CONSECUTIVE_FAILURES

    assert run().outcomes == {"sent": 8}


def test_the_run_stops_before_the_timeout_and_the_next_run_finishes(stack, frozen_clock) -> None:
    for i in range(10):
        enroll(lead(f"t{i}@example.com"), "welcome", at=frozen_clock.now())
    remaining = iter(range(60_000, 0, -10_000))  # each enrollment "takes" ten seconds

    first = run(remaining_ms=lambda: next(remaining), margin_ms=15_000)
    assert first.stopped == "time" and first.outcomes == {"sent": 5}
    second = run(remaining_ms=lambda: 900_000)
    assert second.stopped is None and second.outcomes == {"sent": 5}
    assert len(set(subjects(stack))) == 1 and len(subjects(stack)) == 10


def test_pacing_keeps_sends_under_the_rate_in_every_second(stack, frozen_clock) -> None:
    for i in range(9):
        enroll(lead(f"r{i}@example.com"), "welcome", at=frozen_clock.now())
    fake, sent_at, real_send = FakeTime(), [], aws.sesv2().send_email

    def timed_send(**request: Any) -> Any:
        sent_at.append(fake.now)
        fake.now += 0.01  # SES answers in 10 ms
        return real_send(**request)

    with mock.patch.object(aws.sesv2(), "send_email", side_effect=timed_send):
        sender.run(limiter=RateLimiter(2, monotonic=fake.monotonic, sleep=fake.sleep))

    assert len(sent_at) == 9
    assert max(sum(1 for t in sent_at if start <= t < start + 1) for start in sent_at) == 2
    assert sent_at[-1] - sent_at[0] >= 4.0  # 9 messages at 2/s: no faster


def test_the_rate_is_the_configured_one_capped_by_the_account_quota(stack, monkeypatch) -> None:
    from crm_core.campaigns.pacing import send_rate

    assert send_rate() == 1.0  # moto's account: MaxSendRate 1 (a sandbox), below SES_MAX_SEND_RATE=10
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetSendQuota")
    with mock.patch.object(aws.ses(), "get_send_quota", side_effect=denied):
        assert send_rate() == 10.0


# Quiet hours across the spring DST changes of 2027 (New York 14 Mar, Rome 28 Mar) and the autumn
# one of Auckland (4 Apr); Jakarta has none. Marketing due at these local times must wait for 08:00.
ZONES = {
    "Europe/Rome": datetime(2027, 3, 27),
    "America/New_York": datetime(2027, 3, 13),
    "Asia/Jakarta": datetime(2027, 3, 27),
    "Pacific/Auckland": datetime(2027, 4, 3),
}
LOCAL_DUE = [(0, 20, 59), (0, 23, 45), (1, 7, 55), (1, 8, 0)]


def _first_allowed_run(due: datetime, zone: str) -> datetime:
    """Independent oracle: the first five-minute run at or after `due` that is 08:00-21:00 local."""
    from zoneinfo import ZoneInfo

    tick = due + timedelta(seconds=-due.timestamp() % 300)
    while not 8 <= tick.astimezone(ZoneInfo(zone)).hour < 21:
        tick += timedelta(minutes=5)
    return tick


def test_marketing_reaches_each_time_zone_only_inside_its_local_window_across_dst(
    stack, frozen_clock
) -> None:
    from zoneinfo import ZoneInfo

    expected: dict[str, tuple[str, datetime]] = {}
    for zone, eve in ZONES.items():
        for day, hour, minute in LOCAL_DUE:
            local = (eve + timedelta(days=day)).replace(hour=hour, minute=minute, tzinfo=ZoneInfo(zone))
            due = local.astimezone(UTC)
            address = f"{zone.split('/')[1].lower()}-{day}{hour:02}{minute:02}@example.com"
            contact_id = lead(address, zone=zone)
            enroll(contact_id, "win-back", at=due, occurrence="A-1")  # the lifecycle's win-back, due then
            expected[address] = (zone, _first_allowed_run(due, zone))

    sent_at: dict[str, datetime] = {}
    real_send = aws.sesv2().send_email

    def record(**request: Any) -> Any:
        sent_at[request["Destination"]["ToAddresses"][0]] = frozen_clock.now()
        return real_send(**request)

    frozen_clock.set(datetime(2027, 3, 13, 0, 0, tzinfo=UTC))
    with mock.patch.object(aws.sesv2(), "send_email", side_effect=record):
        while len(sent_at) < len(expected) and frozen_clock.now() < datetime(2027, 4, 6, tzinfo=UTC):
            run()
            upcoming = [e.due_at for e in Enrollment.scan() if e.due_at]  # a test may scan
            # Jump to the next five-minute run that has something due (the schedule between is idle).
            nxt = min([datetime.fromisoformat(d.replace("Z", "+00:00")) for d in upcoming], default=None)
            if nxt is None:
                break
            frozen_clock.set(max(nxt, frozen_clock.now() + timedelta(minutes=5)))
            frozen_clock.set(frozen_clock.now() + timedelta(seconds=-frozen_clock.now().timestamp() % 300))

    assert sent_at.keys() == expected.keys()
    for address, (zone, first_allowed) in expected.items():
        local = sent_at[address].astimezone(ZoneInfo(zone))
        assert 8 <= local.hour < 21, (address, local)
        assert sent_at[address] == first_allowed, (address, local)


def test_an_open_complaint_pauses_marketing_until_it_is_resolved(stack, frozen_clock) -> None:
    contact_id = lead("upset@example.com", open_cases=1)
    enroll(contact_id, "welcome", at=frozen_clock.now())
    run()  # the welcome is a service message: it goes
    frozen_clock.advance(timedelta(days=2))
    assert run().outcomes == {"paused": 1}
    frozen_clock.advance(timedelta(days=1))
    assert run().outcomes == {"paused": 1}

    Contact.get(contact_id).update(actions=[Contact.open_cases.set(0)])
    frozen_clock.advance(timedelta(days=1))
    assert run().outcomes == {"sent": 1}
    assert subjects(stack) == [WELCOME, TIPS]


def test_contacts_who_opted_out_or_never_consented_get_the_welcome_but_no_marketing(
    stack, frozen_clock
) -> None:
    opted_out = lead("out@example.com", marketing_opt_out=True)
    no_consent = lead("maybe@example.com", consent=False)
    for contact_id in (opted_out, no_consent):
        enroll(contact_id, "welcome", at=frozen_clock.now())

    for days in (0, 2, 7):
        frozen_clock.set(datetime(2026, 11, 23, 10, tzinfo=UTC) + timedelta(days=days))
        run()

    assert sorted(m.to for m in outbox(stack)) == ["maybe@example.com", "out@example.com"]
    assert enrollment(opted_out, "welcome").exit_reason == "unsubscribed"
    assert enrollment(no_consent, "welcome").exit_reason == "no-consent"


def test_a_bounced_address_gets_nothing_more_and_leaves_its_sequences(stack, frozen_clock) -> None:
    contact_id = lead("gone@example.com")
    enroll(contact_id, "welcome", at=frozen_clock.now())
    run()
    suppressions.suppress("gone@example.com", scope="all", reason="bounce", now=frozen_clock.now())
    frozen_clock.advance(timedelta(days=2))

    assert run().outcomes == {"exited": 1}
    assert (enrollment(contact_id, "welcome").status, enrollment(contact_id, "welcome").exit_reason) == (
        "exited",
        "bounce",
    )
    assert subjects(stack) == [WELCOME]


def test_an_unsubscribe_between_steps_ends_the_marketing_sequences_only(stack, frozen_clock) -> None:
    contact_id = lead("bye@example.com")
    enroll(contact_id, "welcome", at=frozen_clock.now())
    campaigns.on_purchase(contact_id, "A-7", frozen_clock.now())
    run()
    suppressions.suppress("bye@example.com", scope="marketing", reason="unsubscribed", now=frozen_clock.now())
    for _ in range(8):
        frozen_clock.advance(timedelta(days=1))
        run()

    assert subjects(stack) == [WELCOME, "Thank you for your order A-7"]
    assert enrollment(contact_id, "welcome").exit_reason == "unsubscribed"


def test_a_purchase_thanks_the_customer_the_next_day_with_replies_to_support(stack, frozen_clock) -> None:
    contact_id = lead("buyer@example.com", locale="it", first_name="Giulia")
    campaigns.on_purchase(contact_id, "A-1001", frozen_clock.now())
    campaigns.on_purchase(contact_id, "A-1001", frozen_clock.now())  # the order event, redelivered

    assert run().outcomes == {"waiting": 1}  # the thank-you waits a day (win-back is the lifecycle's)
    assert subjects(stack) == []
    frozen_clock.advance(timedelta(days=1))
    run()

    (thanks,) = outbox(stack)
    assert thanks.subject == "Grazie per il tuo ordine A-1001"
    assert thanks.headers["Reply-To"] == "support@example.com"
    assert "Ciao Giulia," in thanks.text and "List-Unsubscribe" not in thanks.headers


def test_a_purchase_ends_the_win_back_and_starts_none(stack, frozen_clock) -> None:
    contact_id = lead("loyal@example.com")
    start = frozen_clock.now()
    campaigns.on_purchase(contact_id, "A-1", start)
    assert "win-back" not in {e.campaign for e in Enrollment.query(contact_id)}  # the lifecycle starts it
    enroll(contact_id, "win-back", at=start + timedelta(days=90), occurrence="drift")  # dissolution
    campaigns.on_purchase(contact_id, "A-1", start)  # a late replay of an order before it ends nothing
    assert enrollment(contact_id, "win-back#drift").status == "active"

    campaigns.on_purchase(contact_id, "A-2", start + timedelta(days=95))

    assert (
        enrollment(contact_id, "win-back#drift").status,
        enrollment(contact_id, "win-back#drift").exit_reason,
    ) == (
        "exited",
        "purchase",
    )
    frozen_clock.set(start + timedelta(days=150, hours=1))
    run()
    assert "We miss you at Example Shop" not in subjects(stack)


def test_a_late_run_never_sends_two_steps_back_to_back(stack, frozen_clock) -> None:
    contact_id = lead("outage@example.com")
    frozen_clock.set(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # 08:00 in Rome
    enroll(contact_id, "welcome", at=frozen_clock.now() - timedelta(days=10))  # the sender was down

    run()
    assert subjects(stack) == [WELCOME]
    frozen_clock.advance(timedelta(hours=11))
    run()
    assert len(subjects(stack)) == 1
    frozen_clock.advance(timedelta(hours=1))
    run()
    assert subjects(stack) == [WELCOME, TIPS]


def test_a_stale_copy_cannot_advance_an_enrollment_twice(stack, frozen_clock) -> None:
    contact_id = lead("race@example.com")
    enroll(contact_id, "welcome", at=frozen_clock.now())
    stale = enrollment(contact_id, "welcome")  # what an overlapping run read a moment ago

    run()
    assert transitions.advance(stale, now=frozen_clock.now(), next_due=frozen_clock.now()) is False
    assert sender.handle(stale, sender.definitions.load()) == "duplicate-sent"
    assert enrollment(contact_id, "welcome").step == 1
    assert subjects(stack) == [WELCOME]


def test_an_enrollment_in_a_campaign_no_longer_in_the_file_leaves_the_index(stack, frozen_clock) -> None:
    contact_id = lead("old@example.com")
    enroll(contact_id, "spring-sale-2025", at=frozen_clock.now())

    assert run().outcomes == {"exited": 1}
    assert enrollment(contact_id, "spring-sale-2025").exit_reason == "unknown-campaign"


def test_a_run_with_an_enrollment_that_raises_handles_the_others_then_fails(stack, frozen_clock) -> None:
    good = lead("good@example.com")
    enroll(good, "welcome", at=frozen_clock.now())
    enroll(contact_id_for("ghost@example.com"), "welcome", at=frozen_clock.now())
    real_get = Contact.get

    def broken_get(contact_id: str, *args: Any, **kwargs: Any) -> Contact:
        if contact_id == contact_id_for("ghost@example.com"):
            raise RuntimeError("disk on fire")
        return real_get(contact_id, *args, **kwargs)

    with mock.patch.object(Contact, "get", side_effect=broken_get), pytest.raises(sender.FollowupRunFailed):
        run()
    assert subjects(stack) == [WELCOME]
    assert run().outcomes == {"exited": 1}  # the contact does not exist: its enrollment ends
