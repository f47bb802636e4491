"""Path and query values a route reads by hand, checked with a 400 that names them."""

from __future__ import annotations

import re

from crm_core.errors import FieldError, ValidationFailed

CONTACT_ID = re.compile(r"^ct_[a-z2-7]{26}$")
CONTACT_ID_SCHEMA = {"type": "string", "pattern": CONTACT_ID.pattern}


def contact_id(value: str, field: str = "contact_id") -> str:
    """`value` when it is a contact id (ct_ and 26 base32 letters); raises ValidationFailed otherwise."""
    if not CONTACT_ID.match(value):
        raise ValidationFailed([FieldError(field, f"must be a contact id like {CONTACT_ID.pattern}")])
    return value
