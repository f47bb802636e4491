"""Logging and metrics set up once, with email addresses and phone numbers masked in every log line.

Powertools Tracer is left out on purpose: it imports aws_xray_sdk (~350 ms of cold start). Active
tracing in the template still records each invocation (Lambda's own segments: init, invocation,
overhead); the AWS calls a function makes are not traced without the SDK.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, runtime_checkable

from crm_core import __version__

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

Handler = TypeVar("Handler", bound=Callable[..., Any])

# An address in any script, written plainly, with a full-width at sign, or percent-encoded once or twice
# ("john%40example.com", "john%2540example.com" in a logged URL): the local part is everything up to
# a space or delimiter before the at sign, the domain any run of letters, digits, dots and hyphens.
_AT = r"(?:@|＠|%40|%2540)"
_EMAIL = re.compile(
    rf"[^\s<>()\[\]{{}},;:\"'=&?/\\@＠]+{_AT}[\w\-]+(?:\.[\w\-]+)*\.(?:[^\W\d_]{{2,}}|xn--[\w\-]+)",
    re.IGNORECASE,
)
# International numbers (+39 333 123 4567, 0039 333 1234567) and national ones with or without
# separators (030 1234 567, 08123456789, 3331234567): 7 to 15 digits, not inside a word or an id.
_PHONE = re.compile(r"(?<![\w.:/%-])(?:\+|\(0|0)?\d[\d \-()./]{5,20}\d(?![\w:/%-]|\.\d)")
_PHONE_DIGITS = range(7, 18)  # E.164 allows 15 digits, and "00" may stand for "+"
_DATE_LIKE = re.compile(r"\d{4}[-/]\d{2}[-/]\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}\b|\d{1,2}:\d{2}")


def _phone(match: re.Match[str]) -> str:
    """A candidate number is masked when its digit count fits a phone number and it is not a date or
    a time (log lines are full of those)."""
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    if digits not in _PHONE_DIGITS or _DATE_LIKE.search(text):
        return text
    if not text.startswith(("+", "0", "(")) and " " in text.strip():
        return text  # "took 1234 5678 ms": separated groups without a prefix are not a number we know
    return "<phone>"


def redact(text: str) -> str:
    """Replace every email address and phone number in `text` with a placeholder."""
    return _PHONE.sub(_phone, _EMAIL.sub("<email>", text))


def _formatter() -> Any:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter  # noqa: PLC0415 - Powertools' logging only when a logger is made

    class RedactingFormatter(LambdaPowertoolsFormatter):
        def serialize(self, log: Any) -> str:
            return redact(super().serialize(log))

    # A constructor key, not append_keys(): it survives inject_lambda_context(clear_state=True).
    return RedactingFormatter(service_version=__version__)


def get_logger() -> Logger:
    """The structured JSON logger of the running function (service name from POWERTOOLS_SERVICE_NAME),
    with the release in every line's `service_version`.

    One per service name, so functions sharing a process (the local stack) keep their own names.
    """
    return _logger(os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined"))


@cache
def _logger(service: str) -> Logger:
    from aws_lambda_powertools import Logger  # noqa: PLC0415 - Powertools' logging only when a logger is made

    return Logger(service=service, logger_formatter=_formatter())


@cache
def get_metrics() -> Metrics:
    """The process's CloudWatch EMF metrics (namespace from POWERTOOLS_METRICS_NAMESPACE).

    Without Powertools' `service` dimension: CloudWatch bills each name x dimension set, so a count
    emitted by three functions (MessagesSent, LoyaltyEntries ...) would be three metrics, each billed
    for every hour it gets data. The function that emitted a count is in its log line."""
    from aws_lambda_powertools import Metrics  # noqa: PLC0415 - Powertools' metrics only when a metric is added

    return Metrics(service="")  # "", not None: POWERTOOLS_SERVICE_NAME then names the logs only


def count(name: str, value: float = 1) -> None:
    """Add to a count metric, with the deployment's `environment` dimension only (dev and prod share
    an account and the namespace: without it each would trip the other's alarms)."""
    from aws_lambda_powertools.metrics import MetricUnit  # noqa: PLC0415 - Powertools' metrics only when a metric is added

    from crm_core.settings import get_settings  # noqa: PLC0415 - settings read on first metric, never at import

    metrics = get_metrics()
    environment = get_settings().environment
    if metrics.default_dimensions.get("environment") != environment:
        metrics.set_default_dimensions(environment=environment)
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@runtime_checkable
class Report(Protocol):
    """What a scheduled run or a batch tells about itself: the handler answers `report.as_dict()`, which
    the local stack shows and the logs keep."""

    def as_dict(self) -> Mapping[str, Any]:
        """The report as JSON-ready data."""
        ...


def lambda_entry(correlation_id_path: str) -> Callable[[Handler], Handler]:
    """The one way a function's `lambda_handler` is entered: the Lambda context and the correlation id
    (found at `correlation_id_path` in the event) in every log line, the keys a previous invocation
    appended cleared, and the metrics flushed when the handler returns or raises."""
    logger, metrics = get_logger(), get_metrics()

    def decorate(handler: Handler) -> Handler:
        flushed = cast("Handler", metrics.log_metrics(handler))
        return logger.inject_lambda_context(
            flushed, correlation_id_path=correlation_id_path, clear_state=True
        )

    return decorate
