"""Logging and metrics set up once, with email addresses and phone numbers masked in every log line.

Powertools Tracer is left out on purpose: it imports aws_xray_sdk (~350 ms of cold start) and
active tracing in the template already records each invocation and every AWS call's segment.
"""

from __future__ import annotations

import os
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from crm_core import __version__

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-']+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# International numbers (+39 333 123 4567) and national ones written with separators (030 1234 567).
_PHONE = re.compile(
    r"\+\d[\d \-().]{6,18}\d|(?<![\w.:-])\(?0\d{1,4}\)?[ .\-/]\d{2,4}[ .\-/]?\d{2,5}(?![\w:])"
)


def redact(text: str) -> str:
    """Replace every email address and phone number in `text` with a placeholder."""
    return _PHONE.sub("<phone>", _EMAIL.sub("<email>", text))


def _formatter() -> Any:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter  # noqa: PLC0415

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
    from aws_lambda_powertools import Logger  # noqa: PLC0415

    return Logger(service=service, logger_formatter=_formatter())


@cache
def get_metrics() -> Metrics:
    """The process's CloudWatch EMF metrics (namespace from POWERTOOLS_METRICS_NAMESPACE)."""
    from aws_lambda_powertools import Metrics  # noqa: PLC0415

    return Metrics()


def count(name: str, value: float = 1) -> None:
    """Add to a count metric, with the deployment's `environment` dimension (dev and prod share an
    account and the namespace: without it each would trip the other's alarms)."""
    from aws_lambda_powertools.metrics import MetricUnit  # noqa: PLC0415

    from crm_core.settings import get_settings  # noqa: PLC0415

    metrics = get_metrics()
    environment = get_settings().environment
    if metrics.default_dimensions.get("environment") != environment:
        metrics.set_default_dimensions(environment=environment)
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
