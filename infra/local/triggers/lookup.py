"""What every trigger runner shares: the error for a name the template lacks, and ARN lookups."""

from __future__ import annotations

from infra.template import Template


class NotFoundError(LookupError):
    """The logical id names nothing of the kind in the template."""


def arn_index(template: Template, kind: str) -> dict[str, str]:
    """ARN -> logical id of the template's resources of one type."""
    return {template.arn(logical_id): logical_id for logical_id, _ in template.of_type(kind)}
