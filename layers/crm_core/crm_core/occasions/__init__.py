"""Occasions: birthday and customer-anniversary greetings on the right local day, once a year."""

from __future__ import annotations

from crm_core.occasions.run import RunReport, send_occasions

__all__ = ["RunReport", "send_occasions"]
