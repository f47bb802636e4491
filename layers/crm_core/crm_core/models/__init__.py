"""PynamoDB models. Table names come from settings when first used, never from a literal."""

from __future__ import annotations

from crm_core.models.base import reset_connections
from crm_core.models.contacts import Contact, contact_id_for, normalize_email
from crm_core.models.enrollments import Enrollment
from crm_core.models.messages import SentMessage, Suppression

__all__ = [
    "Contact",
    "Enrollment",
    "SentMessage",
    "Suppression",
    "contact_id_for",
    "normalize_email",
    "reset_connections",
]
