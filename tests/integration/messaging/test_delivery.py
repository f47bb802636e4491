"""The message engine against moto: at most once, retried after failures, never to suppressed addresses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError, UpdateError

from crm_core import aws
from crm_core.messaging import Outcome, Outgoing, deliver, ledger, suppressions, templates
from crm_core.models import SentMessage, contact_id_for
from crm_core.models.messages import Suppression
from tests.helpers import dynamodb_calls, parse_sent

ADDRESS = "zoe@example.com"


@pytest.fixture
def notice_template(tmp_path: Path) -> Iterator[None]:
    """A template of the tests' own, so the engine is tested apart from any campaign's wording."""
    folder = tmp_path / "notice"
    folder.mkdir()
    for locale, greeting in {"en": "Hello", "it": "Ciao"}.items():
        (folder / f"{locale}.subject.j2").write_text(f"{greeting} {{{{ name }}}}\n")
        (folder / f"{locale}.txt.j2").write_text(f"{greeting} {{{{ name }}}}, see {{{{ link }}}}\n")
        (folder / f"{locale}.html.j2").write_text(f"<p>{greeting} {{{{ name }}}}</p>")
    with mock.patch.object(templates, "TEMPLATE_DIR", tmp_path):
        templates._environment.cache_clear()
        yield
    templates._environment.cache_clear()


def _message(**overrides: object) -> Outgoing:
    fields: dict[str, object] = {
        "contact_id": contact_id_for(ADDRESS),
        "to": ADDRESS,
        "kind": "notice",
        "occurrence": "1",
        "template": "notice",
        "locale": "it-IT",
        "context": {"name": "Zoë <b>", "link": "https://x"},
    }
    fields.update(overrides)
    return Outgoing(**fields)  # type: ignore[arg-type]


def test_a_message_is_sent_once_however_often_it_is_delivered(stack, frozen_clock, notice_template) -> None:
    first = deliver(_message())
    second = deliver(_message())

    assert first.outcome is Outcome.SENT
    assert second.outcome is Outcome.DUPLICATE
    sent = stack.sent_emails()
    assert len(sent) == 1
    mail = parse_sent(sent[0])
    assert mail.subject == "Ciao Zoë <b>"  # Italian, as asked; plain text is not HTML-escaped
    assert "Ciao Zoë <b>, see https://x" in mail.text
    assert "<p>Ciao Zoë &lt;b&gt;</p>" in mail.html  # HTML is autoescaped
    ledger = SentMessage.get(f"{contact_id_for(ADDRESS)}#notice#1")
    assert ledger.status == "sent"
    assert ledger.ses_message_id == first.ses_message_id


def test_a_failed_send_is_released_and_sent_by_the_next_attempt(stack, frozen_clock, notice_template) -> None:
    throttled = ClientError(
        {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail"
    )
    real = aws.sesv2()
    with mock.patch.object(real, "send_email", side_effect=throttled):
        failed = deliver(_message())
    retried = deliver(_message())

    assert failed.outcome is Outcome.FAILED
    assert failed.reason == "TooManyRequestsException"
    assert retried.outcome is Outcome.SENT
    assert len(stack.sent_emails()) == 1
    record = SentMessage.get(f"{contact_id_for(ADDRESS)}#notice#1")
    assert (record.status, record.attempts, record.reason) == ("sent", 2, None)  # the failure is history
    assert (record.ses_message_id, record.sent_at) == (retried.ses_message_id, frozen_clock.now())


def test_a_claim_abandoned_mid_send_is_taken_over_after_the_grace_period(
    stack, frozen_clock, notice_template
) -> None:
    from crm_core.messaging import ledger

    abandoned = ledger.claim(
        contact_id_for(ADDRESS), "notice", "1", now=frozen_clock.now(), grace=timedelta(minutes=15)
    )
    assert abandoned is not None  # the "crashed" sender got this far, then died before SES answered

    assert deliver(_message()).outcome is Outcome.DUPLICATE
    frozen_clock.advance(timedelta(minutes=16))
    assert deliver(_message()).outcome is Outcome.SENT
    assert deliver(_message()).outcome is Outcome.DUPLICATE
    assert len(stack.sent_emails()) == 1


def test_suppressed_addresses_get_no_marketing_but_bounced_ones_get_nothing(
    stack, frozen_clock, notice_template
) -> None:
    suppressions.suppress(ADDRESS, scope="marketing", reason="unsubscribed", now=frozen_clock.now())
    assert deliver(_message(marketing=True)).outcome is Outcome.SUPPRESSED
    assert deliver(_message(kind="receipt")).outcome is Outcome.SENT

    suppressions.suppress(ADDRESS.upper(), scope="all", reason="bounce", now=frozen_clock.now())
    assert deliver(_message(kind="receipt", occurrence="2")).outcome is Outcome.SUPPRESSED
    assert Suppression.get(ADDRESS).scope == "all"
    assert len(stack.sent_emails()) == 1


def test_marketing_carries_one_click_unsubscribe_and_a_working_link(
    stack, frozen_clock, notice_template
) -> None:
    from urllib.parse import parse_qs, urlparse

    from crm_core.messaging import tokens
    from crm_core.messaging.delivery import UNSUBSCRIBE_PURPOSE

    frozen_clock.set(frozen_clock.now().replace(hour=10))  # 11:00 in Rome: inside the window
    assert deliver(_message(marketing=True, time_zone="Europe/Rome")).outcome is Outcome.SENT

    sent = parse_sent(stack.sent_emails()[0])
    assert sent.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = sent.unsubscribe_url
    token = parse_qs(urlparse(url).query)["token"][0]
    assert tokens.verify(token, UNSUBSCRIBE_PURPOSE)["c"] == contact_id_for(ADDRESS)


def test_marketing_waits_for_the_end_of_quiet_hours_without_claiming(
    stack, frozen_clock, notice_template
) -> None:
    from datetime import UTC, datetime

    frozen_clock.set(datetime(2026, 11, 23, 22, 0, tzinfo=UTC))  # 23:00 in Rome
    deferred = deliver(_message(marketing=True, time_zone="Europe/Rome"))
    assert deferred.outcome is Outcome.DEFERRED
    assert deferred.retry_at == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert deliver(_message(kind="receipt", time_zone="Europe/Rome")).outcome is Outcome.SENT  # transactional

    frozen_clock.set(deferred.retry_at)
    assert deliver(_message(marketing=True, time_zone="Europe/Rome")).outcome is Outcome.SENT
    assert len(stack.sent_emails()) == 2


def test_a_duplicate_says_whether_the_message_went_out_or_is_still_being_sent(
    stack, frozen_clock, notice_template
) -> None:
    from crm_core.messaging import ledger

    assert deliver(_message()).outcome is Outcome.SENT
    again = deliver(_message())
    assert (again.outcome, again.reason, again.retry_at) == (Outcome.DUPLICATE, "sent", None)

    ledger.claim(contact_id_for(ADDRESS), "notice", "2", now=frozen_clock.now(), grace=timedelta(minutes=15))
    busy = deliver(_message(occurrence="2"))
    assert (busy.outcome, busy.reason) == (Outcome.DUPLICATE, "in-progress")
    assert busy.retry_at == frozen_clock.now() + timedelta(seconds=900)  # when that claim goes stale


def test_a_message_that_failed_every_attempt_is_given_up(stack, frozen_clock, notice_template) -> None:
    throttled = ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "SendEmail")
    with mock.patch.object(aws.sesv2(), "send_email", side_effect=throttled):
        outcomes = [deliver(_message()).outcome for _ in range(5)]
    gave_up = deliver(_message())

    assert outcomes == [Outcome.FAILED] * 5
    assert (gave_up.outcome, gave_up.reason) == (Outcome.DUPLICATE, "gave-up")
    assert stack.sent_emails() == []


def test_pacing_is_asked_only_for_messages_that_reach_ses(stack, frozen_clock, notice_template) -> None:
    paced: list[str] = []
    deliver(_message(), pace=lambda: paced.append("send"))
    deliver(_message(), pace=lambda: paced.append("duplicate"))
    suppressions.suppress(ADDRESS, scope="all", reason="bounce", now=frozen_clock.now())
    deliver(_message(occurrence="2"), pace=lambda: paced.append("suppressed"))

    assert paced == ["send"]


def test_a_template_that_fails_to_render_releases_its_claim(stack, frozen_clock, notice_template) -> None:
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        deliver(_message(context={"link": "https://x"}))  # "name" is missing
    record = SentMessage.get(f"{contact_id_for(ADDRESS)}#notice#1")
    assert (record.status, record.reason) == ("failed", "render-error")

    assert deliver(_message()).outcome is Outcome.SENT  # the fixed context goes out at once


# ---- the claim: takeovers, refusals, and DynamoDB faults ---------------------------------------
GRACE = timedelta(minutes=15)


def _claim(now: datetime) -> SentMessage | None:
    return ledger.claim(contact_id_for(ADDRESS), "notice", "1", now=now, grace=GRACE)


def _record() -> SentMessage:
    return SentMessage.get(f"{contact_id_for(ADDRESS)}#notice#1", consistent_read=True)


def test_a_claim_taken_over_is_live_again_so_a_third_sender_cannot_take_it_mid_send(
    stack, frozen_clock
) -> None:
    started = frozen_clock.now()
    assert _claim(started) is not None  # this sender died before SES answered
    frozen_clock.advance(GRACE + timedelta(seconds=1))

    takeover = _claim(frozen_clock.now())
    frozen_clock.advance(timedelta(seconds=30))  # the new owner is still talking to SES
    third = _claim(frozen_clock.now())

    assert takeover is not None
    assert third is None
    record = _record()
    assert (record.status, record.claimed_at, record.attempts) == (
        "claimed",
        started + GRACE + timedelta(seconds=1),
        2,
    )


def test_successive_takeovers_each_wait_for_the_grace_period_of_the_one_before(stack, frozen_clock) -> None:
    assert _claim(frozen_clock.now()) is not None
    owners = []
    for _ in range(3):  # three senders in a row crash mid-send; each later one waits a full grace period
        frozen_clock.advance(GRACE - timedelta(seconds=1))
        assert _claim(frozen_clock.now()) is None
        frozen_clock.advance(timedelta(seconds=2))
        owners.append(_claim(frozen_clock.now()))

    assert all(owner is not None for owner in owners)
    assert _record().attempts == 4


def test_a_claim_exactly_as_old_as_the_grace_period_is_still_live(stack, frozen_clock) -> None:
    assert _claim(frozen_clock.now()) is not None
    frozen_clock.advance(GRACE)
    assert _claim(frozen_clock.now()) is None
    frozen_clock.advance(timedelta(microseconds=1))
    assert _claim(frozen_clock.now()) is not None


def test_a_failed_send_claimed_again_is_owned_so_no_second_sender_takes_it_at_once(
    stack, frozen_clock
) -> None:
    first = _claim(frozen_clock.now())
    assert first is not None
    ledger.mark_failed(first, "Throttling")

    retry = _claim(frozen_clock.now())
    racing = _claim(frozen_clock.now())  # a second run, at the same moment

    assert retry is not None
    assert racing is None
    assert (_record().status, _record().attempts) == ("claimed", 2)


def test_the_failure_reason_is_kept_to_500_characters(stack, frozen_clock) -> None:
    claimed = _claim(frozen_clock.now())
    assert claimed is not None
    ledger.mark_failed(claimed, "x" * 499 + "yz")
    assert _record().reason == "x" * 499 + "y"


def test_a_skip_never_overwrites_a_message_that_was_sent(stack, frozen_clock, notice_template) -> None:
    sent = deliver(_message())
    suppressions.suppress(ADDRESS, scope="all", reason="bounce", now=frozen_clock.now())

    assert deliver(_message()).outcome is Outcome.SUPPRESSED
    assert (
        ledger.mark_skipped(contact_id_for(ADDRESS), "notice", "1", "suppressed", now=frozen_clock.now())
        is False
    )
    record = _record()
    assert (record.status, record.ses_message_id) == ("sent", sent.ses_message_id)


def test_a_skip_is_recorded_once_and_blocks_a_later_send(stack, frozen_clock, notice_template) -> None:
    cid = contact_id_for(ADDRESS)
    assert ledger.mark_skipped(cid, "notice", "1", "opted-out", now=frozen_clock.now()) is True
    assert ledger.mark_skipped(cid, "notice", "1", "opted-out", now=frozen_clock.now()) is False

    again = deliver(_message())

    assert (again.outcome, again.reason) == (Outcome.DUPLICATE, "skipped")
    record = _record()
    assert (record.status, record.reason, record.claimed_at) == ("skipped", "opted-out", frozen_clock.now())
    assert (record.contact_id, record.kind, record.occurrence) == (cid, "notice", "1")
    assert stack.sent_emails() == []


def test_a_new_claim_records_whose_message_it_is(stack, frozen_clock) -> None:
    claimed = _claim(frozen_clock.now())

    assert claimed is not None
    record = _record()
    assert (record.contact_id, record.kind, record.occurrence) == (contact_id_for(ADDRESS), "notice", "1")
    assert (record.status, record.claimed_at, record.attempts) == ("claimed", frozen_clock.now(), 1)


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_a_throttled_claim_raises_instead_of_passing_for_a_duplicate(
    stack, frozen_clock, notice_template, code: str
) -> None:
    with dynamodb_calls(("PutItem", code)), pytest.raises(PutError) as raised:
        deliver(_message())

    assert raised.value.cause_response_code == code
    assert stack.sent_emails() == []
    assert deliver(_message()).outcome is Outcome.SENT  # the trigger's retry sends it


def test_a_throttled_takeover_raises_instead_of_passing_for_in_progress(stack, frozen_clock) -> None:
    assert _claim(frozen_clock.now()) is not None
    frozen_clock.advance(GRACE * 2)

    with dynamodb_calls(("UpdateItem", "ThrottlingException")), pytest.raises(UpdateError):
        _claim(frozen_clock.now())

    assert (_record().attempts, _record().claimed_at) == (1, frozen_clock.now() - GRACE * 2)


def test_a_throttled_skip_raises_instead_of_passing_for_already_recorded(stack, frozen_clock) -> None:
    with dynamodb_calls(("PutItem", "ProvisionedThroughputExceededException")), pytest.raises(PutError):
        ledger.mark_skipped(contact_id_for(ADDRESS), "notice", "1", "suppressed", now=frozen_clock.now())
    with pytest.raises(SentMessage.DoesNotExist):
        _record()


def test_why_a_claim_was_refused_is_read_consistently(stack, frozen_clock, notice_template) -> None:
    deliver(_message())
    with dynamodb_calls() as calls:
        assert deliver(_message()).reason == "sent"
    (read,) = [r for r in calls.of("GetItem") if r["TableName"] == stack.env["MESSAGES_TABLE"]]
    assert read["ConsistentRead"] is True  # an eventually consistent read may not see the claim yet


def test_the_ses_request_is_exactly_the_raw_message_from_the_sender_in_the_configuration_set(
    stack, frozen_clock, notice_template
) -> None:
    from crm_core.settings import get_settings

    settings = get_settings()
    assert settings.configuration_set  # the stack publishes bounces and complaints through it
    client = aws.sesv2()
    with mock.patch.object(client, "send_email", wraps=client.send_email) as send:
        sent = deliver(_message(reply_to="help@example.com"))

    (call,) = send.call_args_list
    request = call.kwargs
    raw = request.pop("Content")["Raw"]["Data"]
    message = _message(reply_to="help@example.com")
    tag = ledger.tag_value(ledger.message_key(message.contact_id, message.kind, message.occurrence))
    assert request == {
        "FromEmailAddress": settings.sender_address,
        "Destination": {"ToAddresses": [ADDRESS]},
        "ConfigurationSetName": settings.configuration_set,
        # SES copies the tag into the Send event that settles an unknown outcome
        "EmailTags": [{"Name": ledger.TAG_NAME, "Value": tag}],
    }
    assert ledger.key_from_tag(str(tag)) == ledger.message_key(
        message.contact_id, message.kind, message.occurrence
    )
    (stored,) = stack.sent_emails()
    assert raw.decode() == stored.raw_data  # the whole message is the MIME document: headers included
    mail = parse_sent(stored)
    assert (mail.to, mail.headers["From"], mail.headers["Reply-To"]) == (
        ADDRESS,
        f"{templates.brand()['name']} <{settings.sender_address}>",  # the brand's name: SENDER_NAME is empty
        "help@example.com",
    )
    assert sent.ses_message_id == mail.ses_message_id


def test_without_a_configuration_set_the_request_names_none(
    stack, frozen_clock, notice_template, monkeypatch
) -> None:
    from crm_core.settings import reset_settings

    monkeypatch.setenv("SES_CONFIGURATION_SET", "")
    reset_settings()
    client = aws.sesv2()
    with mock.patch.object(client, "send_email", wraps=client.send_email) as send:
        assert deliver(_message()).outcome is Outcome.SENT
    assert "ConfigurationSetName" not in send.call_args.kwargs


def test_a_claim_whose_record_vanished_before_the_read_is_reported_in_progress(
    stack, frozen_clock, notice_template
) -> None:
    ledger.claim(contact_id_for(ADDRESS), "notice", "1", now=frozen_clock.now(), grace=GRACE)
    with mock.patch.object(ledger, "current", return_value=None):  # deleted between the claim and the read
        busy = deliver(_message())
    assert (busy.outcome, busy.reason, busy.retry_at) == (
        Outcome.DUPLICATE,
        "in-progress",
        frozen_clock.now() + GRACE,
    )


def test_a_message_needs_no_context_or_headers_of_its_own(stack, frozen_clock, tmp_path) -> None:
    (tmp_path / "plain").mkdir()
    for part, text in {"subject": "Hi", "txt": "Hello", "html": "<p>Hello</p>"}.items():
        (tmp_path / "plain" / f"en.{part}.j2").write_text(text)
    with mock.patch.object(templates, "TEMPLATE_DIR", tmp_path):
        templates._environment.cache_clear()
        message = Outgoing(contact_id_for(ADDRESS), ADDRESS, "plain", "1", "plain", "en")
        assert deliver(message).outcome is Outcome.SENT
    templates._environment.cache_clear()
    assert parse_sent(stack.sent_emails()[0]).subject == "Hi"


def test_every_outcome_is_counted_for_the_dashboard(stack, frozen_clock, notice_template, metrics) -> None:
    from jinja2 import UndefinedError

    throttled = ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "SendEmail")
    with mock.patch.object(aws.sesv2(), "send_email", side_effect=throttled):
        deliver(_message())
    deliver(_message())
    with pytest.raises(UndefinedError):  # the template needs a name: the claim is released, counted failed
        deliver(_message(occurrence="2", context={"link": "https://x"}))
    suppressions.suppress(ADDRESS, scope="all", reason="bounce", now=frozen_clock.now())
    suppressed = deliver(_message(occurrence="3"))

    assert metrics() == {"MessagesFailed": 2, "MessagesSent": 1, "MessagesSuppressed": 1}
    assert (suppressed.outcome, suppressed.reason) == (Outcome.SUPPRESSED, "suppressed")


def test_marketing_in_quiet_hours_is_deferred_with_its_reason(stack, frozen_clock, notice_template) -> None:
    from datetime import UTC

    frozen_clock.set(datetime(2026, 11, 23, 22, 0, tzinfo=UTC))  # 23:00 in Rome
    deferred = deliver(_message(marketing=True, time_zone="Europe/Rome"))
    assert (deferred.outcome, deferred.reason) == (Outcome.DEFERRED, "quiet-hours")


def test_an_unknown_outcome_holds_the_claim_for_an_hour_by_default(stack, frozen_clock) -> None:
    claimed = _claim(frozen_clock.now())
    assert claimed is not None
    ledger.mark_unknown(claimed, "outcome-unknown: ReadTimeoutError")  # SES may have sent it

    frozen_clock.advance(timedelta(hours=1))  # exactly the window: SES's Send event may still come
    assert _claim(frozen_clock.now()) is None
    frozen_clock.advance(timedelta(microseconds=1))
    taken = _claim(frozen_clock.now())

    assert taken is not None
    assert (_record().status, _record().attempts) == ("claimed", 2)


def test_the_ses_tag_carries_keys_up_to_the_256_characters_ses_allows() -> None:
    # Base32 without padding turns 160 bytes into exactly 256 characters, and 161 bytes into 258.
    longest = "k" * 160
    value = ledger.tag_value(longest)

    assert value is not None and len(value) == 256
    assert ledger.key_from_tag(value) == longest
    assert ledger.tag_value(longest + "k") is None


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_recording_ses_s_answer_outlasts_three_throttled_writes_pausing_longer_each_time(
    stack, frozen_clock, code: str
) -> None:
    claimed = _claim(frozen_clock.now())
    assert claimed is not None

    with dynamodb_calls(("UpdateItem", code), times=3), mock.patch("time.sleep") as slept:
        ledger.mark_sent(claimed, "ses-1", now=frozen_clock.now())

    assert [call.args[0] for call in slept.call_args_list] == [0.1, 0.2, 0.4]
    assert (_record().status, _record().ses_message_id) == ("sent", "ses-1")


def test_recording_ses_s_answer_gives_up_after_four_throttled_writes(stack, frozen_clock) -> None:
    claimed = _claim(frozen_clock.now())
    assert claimed is not None

    with (
        dynamodb_calls(("UpdateItem", "ThrottlingException"), times=4) as calls,
        mock.patch("time.sleep"),
        pytest.raises(UpdateError),
    ):
        ledger.mark_unknown(claimed, "outcome-unknown")

    assert [operation for operation, _ in calls.made] == ["UpdateItem"] * 4
    assert _record().status == "claimed"


def _ses_error(status: int, code: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "from the test"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "SendEmail",
    )


@pytest.mark.parametrize(
    "answer",
    [
        (500, "InternalFailure", True),  # a server fault may come after SES took the message
        (503, "ServiceUnavailable", True),
        (499, "ClientClosedRequest", False),  # any 4xx: SES refused it, nothing went out
        (400, "MessageRejected", False),
    ],
)
def test_a_server_fault_from_ses_leaves_the_outcome_unknown_and_a_refusal_releases_the_claim(
    stack, frozen_clock, notice_template, answer: tuple[int, str, bool]
) -> None:
    status, code, unknown = answer
    with mock.patch.object(aws.sesv2(), "send_email", side_effect=_ses_error(status, code)):
        failed = deliver(_message())

    assert failed.outcome is Outcome.FAILED
    record = _record()
    if unknown:
        assert (failed.reason, record.status) == (f"outcome-unknown: {code}", "unknown")
        assert failed.retry_at == record.claimed_at + timedelta(hours=1)
    else:
        assert (failed.reason, record.status, failed.retry_at) == (code, "failed", None)


def test_the_reasons_of_unknown_and_unsendable_claims_are_kept_to_500_characters(stack, frozen_clock) -> None:
    claimed = _claim(frozen_clock.now())
    assert claimed is not None
    ledger.mark_unknown(claimed, "u" * 499 + "vw")
    assert (_record().status, _record().reason) == ("unknown", "u" * 499 + "v")

    ledger.mark_unsendable(claimed, "s" * 499 + "tz")
    assert (_record().status, _record().reason) == ("skipped", "s" * 499 + "t")


def test_ses_s_send_event_settles_a_claim_and_keeps_the_first_send_time(stack, frozen_clock) -> None:
    claimed = _claim(frozen_clock.now())
    assert claimed is not None
    ledger.mark_unknown(claimed, "outcome-unknown: ReadTimeoutError")
    key = ledger.message_key(contact_id_for(ADDRESS), "notice", "1")
    first, later = frozen_clock.now() + timedelta(seconds=2), frozen_clock.now() + timedelta(minutes=5)

    assert ledger.record_ses_event(key, "Send", "ses-7", first) is True
    assert ledger.record_ses_event(key, "Delivery", "ses-8", later) is True  # SES's next event

    record = _record()
    assert (record.status, record.ses_message_id, record.sent_at) == ("sent", "ses-7", first)
    assert record.confirmed_by == "Delivery"


def test_an_ses_event_for_no_claim_is_false_and_a_throttled_one_raises(stack, frozen_clock) -> None:
    key = ledger.message_key(contact_id_for(ADDRESS), "notice", "1")
    assert ledger.record_ses_event(key, "Send", "ses-1", frozen_clock.now()) is False
    with pytest.raises(SentMessage.DoesNotExist):
        _record()  # the condition kept the update from creating an item

    assert _claim(frozen_clock.now()) is not None
    with dynamodb_calls(("UpdateItem", "ThrottlingException")), pytest.raises(UpdateError):
        ledger.record_ses_event(key, "Send", "ses-1", frozen_clock.now())  # the notification is retried
    assert _record().status == "claimed"


def test_unsendable_and_unknown_outcomes_are_counted_for_the_dashboard(
    stack, frozen_clock, notice_template, metrics
) -> None:
    refused = deliver(_message(headers={"From": "someone@else.example"}))  # no retry can send it
    with mock.patch.object(aws.sesv2(), "send_email", side_effect=_ses_error(500, "InternalFailure")):
        deliver(_message(occurrence="2"))

    assert refused.reason.startswith("unsendable:")
    assert metrics() == {"MessagesUnsendable": 1, "MessagesFailed": 1, "MessagesOutcomeUnknown": 1}


def test_when_ses_took_it_but_the_ledger_cannot_say_so_the_trigger_retries_and_nothing_is_resent(
    stack, frozen_clock, notice_template, metrics
) -> None:
    with (
        dynamodb_calls(("UpdateItem", "ThrottlingException"), times=4),
        mock.patch("time.sleep"),
        pytest.raises(UpdateError),  # raised: the queue or schedule runs it again
    ):
        deliver(_message())

    assert metrics() == {"MessagesOutcomeUnknown": 1}
    again = deliver(_message())  # the trigger's retry: the claim is live, SES is not asked again
    assert (again.outcome, again.reason) == (Outcome.DUPLICATE, "in-progress")
    assert len(stack.sent_emails()) == 1


def test_the_unknown_outcome_window_is_the_one_configured(
    stack, frozen_clock, notice_template, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_core.settings import reset_settings

    monkeypatch.setenv("UNKNOWN_OUTCOME_WINDOW_SECONDS", "600")
    reset_settings()
    with mock.patch.object(aws.sesv2(), "send_email", side_effect=_ses_error(503, "ServiceUnavailable")):
        first = deliver(_message())
    assert first.reason == "outcome-unknown: ServiceUnavailable"

    frozen_clock.advance(timedelta(minutes=10, seconds=1))  # past 600 s, long before the default hour
    assert deliver(_message()).outcome is Outcome.SENT
