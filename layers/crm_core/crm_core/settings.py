"""One typed settings object, read from the environment once (template.yaml sets every variable)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

from crm_core.errors import ConfigurationError

# Variables the Lambda runtime sets itself; the template cannot (and need not) set them.
RUNTIME_PROVIDED = frozenset({"AWS_REGION", "AWS_DEFAULT_REGION"})


def _env(name: str, default: str | None = None) -> Any:
    """Field metadata naming the environment variable (and its default) behind a setting."""
    return field(metadata={"env": name, "default": default})


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a function needs to know about its deployment; built by `get_settings()`."""

    environment: str = _env("ENVIRONMENT", "local")
    region: str = _env("AWS_REGION", "eu-west-1")
    # Tables
    contacts_table: str = _env("CONTACTS_TABLE")
    messages_table: str = _env("MESSAGES_TABLE")
    suppressions_table: str = _env("SUPPRESSIONS_TABLE")
    enrollments_table: str = _env("ENROLLMENTS_TABLE")
    # Messaging
    sender_address: str = _env("SENDER_ADDRESS")
    sender_name: str = _env("SENDER_NAME", "")  # the display name in From; empty: the brand's name
    configuration_set: str = _env("SES_CONFIGURATION_SET", "")
    public_base_url: str = _env("PUBLIC_BASE_URL", "http://127.0.0.1:3000")
    claim_grace_seconds: int = _env("CLAIM_GRACE_SECONDS", "900")
    # How long a send SES may have accepted waits for SES's Send event before it is sent again.
    unknown_outcome_window_seconds: int = _env("UNKNOWN_OUTCOME_WINDOW_SECONDS", "3600")
    signing_key_secret: str = _env("SIGNING_KEY_SECRET")
    # The key of contact ids (HMAC of the address); never rotated: see docs/security.md
    identity_key_secret: str = _env("IDENTITY_KEY_SECRET")
    quiet_hours: str = _env("QUIET_HOURS", "21:00-08:00")
    # Loyalty
    loyalty_table: str = _env("LOYALTY_TABLE")
    orders_dead_letter_queue_url: str = _env("ORDERS_DEAD_LETTER_QUEUE_URL")
    orders_max_receive_count: int = _env("ORDERS_MAX_RECEIVE_COUNT", "3")  # = OrdersQueue maxReceiveCount
    points_reminder_days: int = _env("POINTS_REMINDER_DAYS", "30")
    loyalty_catch_up_days: int = _env("LOYALTY_CATCH_UP_DAYS", "3")  # past days a daily run re-reads
    # Business
    default_time_zone: str = _env("DEFAULT_TIME_ZONE", "Europe/Rome")
    default_locale: str = _env("DEFAULT_LOCALE", "en")
    allowed_origins: tuple[str, ...] = _env("ALLOWED_ORIGINS", "")
    # Marketing consent from a form: "renewed-only" asks the address owner to confirm a consent that
    # follows an opt-out; "always" asks for every one (double opt-in, expected in Germany).
    double_opt_in: str = _env("DOUBLE_OPT_IN", "renewed-only")
    # Complaints and cases
    cases_table: str = _env("CASES_TABLE")
    support_address: str = _env("SUPPORT_ADDRESS")
    inbound_mail_bucket: str = _env("INBOUND_MAIL_BUCKET")
    inbound_mail_prefix: str = _env("INBOUND_MAIL_PREFIX", "inbound/")
    case_queue_url: str = _env("CASE_QUEUE_URL")
    case_alerts_topic_arn: str = _env("CASE_ALERTS_TOPIC_ARN")
    case_acks_per_hour: int = _env("CASE_ACKS_PER_HOUR", "3")
    # Follow-ups, unsubscribe, bounces
    ses_max_send_rate: int = _env("SES_MAX_SEND_RATE", "10")  # messages/s; the account's own rate caps it
    transient_bounce_limit: int = _env("TRANSIENT_BOUNCE_LIMIT", "3")  # soft bounces in a row that suppress
    # Occasions (birthdays and customer anniversaries)
    occasion_send_hour: int = _env("OCCASION_SEND_HOUR", "9")  # local hour from which greetings go out
    leap_day_policy: str = _env("LEAP_DAY_POLICY", "feb28")  # 29 Feb occasions in other years: feb28 | mar1
    birthday_bonus_enabled: bool = _env("BIRTHDAY_BONUS_ENABLED", "true")
    # Satisfaction surveys: answers, counters; a high score after a case may invite a review
    surveys_table: str = _env("SURVEYS_TABLE")
    survey_review_url: str = _env("SURVEY_REVIEW_URL", "")
    # Account owners, tasks, notes and the owners' morning digest
    owners_table: str = _env("OWNERS_TABLE")
    # Customer value and the relationship lifecycle
    most_valuable_percent: int = _env("MOST_VALUABLE_PERCENT", "5")  # top share of 12-month value flagged
    # CrmEventBus; empty: lifecycle changes are not published
    event_bus_name: str = _env("EVENT_BUS_NAME", "")
    lifecycle_catch_up_days: int = _env("LIFECYCLE_CATCH_UP_DAYS", "31")  # past review days a run re-reads
    # Data rights: export and erasure
    privacy_requests_table: str = _env("PRIVACY_REQUESTS_TABLE")
    privacy_exports_bucket: str = _env("PRIVACY_EXPORTS_BUCKET")
    privacy_queue_url: str = _env("PRIVACY_QUEUE_URL")
    export_link_seconds: int = _env("EXPORT_LINK_SECONDS", "3600")  # how long an export's download link works

    @property
    def most_valuable_share(self) -> float:
        """The most-valuable share as a fraction (0 to 1), clamped."""
        return min(100, max(0, self.most_valuable_percent)) / 100

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from a mapping; raises ConfigurationError naming every missing variable."""
        values: dict[str, object] = {}
        missing: list[str] = []
        for f in fields(cls):
            name, default = f.metadata["env"], f.metadata["default"]
            raw = environ.get(name, default)
            if raw is None:
                missing.append(name)
                continue
            values[f.name] = _convert(f.type, raw, name)
        if missing:
            raise ConfigurationError(f"missing environment variables: {', '.join(sorted(missing))}")
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def variables(cls) -> dict[str, str | None]:
        """Every environment variable the settings read, with its default (None when required)."""
        return {f.metadata["env"]: f.metadata["default"] for f in fields(cls)}


def _convert(kind: object, raw: str, name: str) -> object:
    if kind in ("int", int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if kind in ("bool", bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind in ("tuple[str, ...]",):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


@cache
def get_settings() -> Settings:
    """The process's settings, read from os.environ on first use."""
    return Settings.from_env(os.environ)


def reset_settings() -> None:
    """Forget the cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()
