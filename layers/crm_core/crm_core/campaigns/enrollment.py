"""Enrolling a contact in a campaign: once per (campaign, occurrence), however often it is asked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from crm_core.clock import iso
from crm_core.models.base import save_if
from crm_core.models.enrollments import Enrollment, due_shard


def new_enrollment(
    contact_id: str,
    campaign: str,
    *,
    at: datetime,
    occurrence: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> Enrollment:
    """The enrollment item, not yet written: for callers that write it inside a transaction."""
    key = campaign if occurrence is None else f"{campaign}#{occurrence}"
    return Enrollment(
        contact_id,
        key,
        campaign=campaign,
        status="active",
        step=0,
        enrolled_at=at,
        due_at=iso(at),
        due_shard=due_shard(contact_id),
        context=json.dumps(dict(context or {}), sort_keys=True, default=str),
    )


def enroll(
    contact_id: str,
    campaign: str,
    *,
    at: datetime,
    occurrence: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> bool:
    """Enroll the contact; True if this call enrolled it, False if it already was (nothing changes).

    The first step becomes due at `at`; the sender moves it to the step's own delay.
    """
    item = new_enrollment(contact_id, campaign, at=at, occurrence=occurrence, context=context)
    return save_if(item, Enrollment.contact_id.does_not_exist())
