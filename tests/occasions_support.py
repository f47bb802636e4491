"""Test support for occasions: contacts written the way every writer writes them, and the run's mail."""

from __future__ import annotations

from typing import Any

import pytest

from crm_core.models import Contact, contact_id_for
from crm_core.models.contacts import occasion_day
from tests.helpers import Mail, outbox

__all__ = ["Mail", "add_contact", "outbox", "production_send_rate"]


def add_contact(
    address: str,
    *,
    birthday: str | None = None,
    customer_since: str | None = None,
    time_zone: str | None = None,
    locale: str | None = None,
    first_name: str | None = None,
    **extra: Any,
) -> Contact:
    """Save a contact with its occasion index keys set, as leads, loyalty and imports do."""
    contact_id = contact_id_for(address)
    contact = Contact(
        contact_id,
        email=address,
        birthday=birthday,
        customer_since=customer_since,
        birthday_day=occasion_day(birthday, contact_id),
        anniversary_day=occasion_day(customer_since, contact_id),
        time_zone=time_zone,
        locale=locale,
        first_name=first_name,
        **extra,
    )
    contact.save()
    return contact


def production_send_rate(monkeypatch: pytest.MonkeyPatch, rate: float = 100.0) -> None:
    """Pace as a production account would: moto reports MaxSendRate 1 (the SES sandbox's), so a run
    greeting several people would sleep a second between sends. The quota is still read as usual."""
    from crm_core.occasions import run

    real = run.send_rate
    monkeypatch.setattr(run, "send_rate", lambda: max(real(), rate))
