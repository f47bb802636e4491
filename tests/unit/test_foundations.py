"""Settings, log redaction, header safety, locale fallback, the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_core import clock
from crm_core.errors import ConfigurationError
from crm_core.messaging import mime
from crm_core.messaging.templates import locale_chain
from crm_core.models import contact_id_for, normalize_email
from crm_core.observability import redact
from crm_core.settings import Settings

REQUIRED = {name: "x" for name, default in Settings.variables().items() if default is None}


def test_settings_name_every_missing_variable_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({})
    for name in REQUIRED:
        assert name in str(caught.value)


def test_settings_convert_numbers_and_lists() -> None:
    settings = Settings.from_env(
        {**REQUIRED, "CLAIM_GRACE_SECONDS": "60", "ALLOWED_ORIGINS": "https://a, https://b,"}
    )
    assert settings.claim_grace_seconds == 60
    assert settings.allowed_origins == ("https://a", "https://b")


def test_settings_refuse_a_malformed_number() -> None:
    with pytest.raises(ConfigurationError, match="CLAIM_GRACE_SECONDS"):
        Settings.from_env({**REQUIRED, "CLAIM_GRACE_SECONDS": "soon"})


@pytest.mark.parametrize(
    "text",
    [
        'contact "zoe.muller+news@example.co.uk" merged',
        "call +39 333 123 4567 today",
        "phone: 030 1234 5678",
        "reach +1 (212) 555-0199",
    ],
)
def test_logs_never_show_an_address_or_phone_number(text: str) -> None:
    cleaned = redact(text)
    assert "@" not in cleaned
    assert not any(run in cleaned for run in ("333 123", "1234 5678", "555-0199"))


@pytest.mark.parametrize("text", ["2026-11-23T10:15:00Z", "took 1234 ms", "order A-1001", "ct_abc123"])
def test_redaction_leaves_timestamps_and_ids_alone(text: str) -> None:
    assert redact(text) == text


def test_header_values_lose_every_line_break() -> None:
    raw = mime.build(
        sender="crm@example.com",
        to="ana@example.com",
        subject="Hello\r\nBcc: victim@example.com",
        text="t",
        html="<p>t</p>",
        headers={"X-Case": "1\nX-Evil: yes"},
    )
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in head
    assert b"\r\nX-Evil:" not in head


def test_locale_falls_back_from_region_to_language_to_english() -> None:
    assert locale_chain("de_AT") == ["de-at", "de", "en"]
    assert locale_chain(None, "it") == ["it", "en"]


def test_contact_id_ignores_case_and_surrounding_space() -> None:
    assert contact_id_for("  Ana@Example.COM ") == contact_id_for("ana@example.com")
    assert normalize_email(" Zoë@Example.com") == "zoë@example.com"
    assert contact_id_for("ana@example.com") != contact_id_for("ana+1@example.com")


def test_frozen_clock_moves_only_when_told() -> None:
    fake = clock.FrozenClock(datetime(2027, 2, 28, 9, 30, tzinfo=UTC))
    previous = clock.use_clock(fake)
    try:
        assert clock.now() == datetime(2027, 2, 28, 9, 30, tzinfo=UTC)
        fake.advance(timedelta(days=1))
        assert clock.now().date().isoformat() == "2027-03-01"
    finally:
        clock.use_clock(previous)


def test_movable_clock_jumps_and_keeps_ticking() -> None:
    movable = clock.MovableClock()
    movable.set(clock.parse_instant("2030-01-01T00:00:00Z"))
    assert timedelta(0) <= movable.now() - datetime(2030, 1, 1, tzinfo=UTC) < timedelta(seconds=5)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        clock.parse_instant("2027-02-28T09:30:00")


def test_every_metric_carries_the_deployment_environment(stack, monkeypatch) -> None:
    """dev and prod share an account and a namespace: without the dimension, each trips the other's alarms."""
    from crm_core.observability import count, get_metrics
    from crm_core.settings import reset_settings

    monkeypatch.setenv("ENVIRONMENT", "prod")
    reset_settings()
    metrics = get_metrics()
    count("LeadsThrottled")
    emitted = metrics.serialize_metric_set()
    metrics.clear_metrics()
    metrics.clear_default_dimensions()
    assert emitted["environment"] == "prod"
    # environment only: a per-function `service` dimension would bill one metric per emitting function
    assert emitted["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["environment"]]
