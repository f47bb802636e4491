"""The fields a lead form may send: names, accepted aliases, limits, labels and the OpenAPI schema.

One table drives parsing, validation, the HTML error page's labels and the API document, so they
cannot disagree. Any other field is a custom attribute, kept within the bounds below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_BODY_BYTES = 64 * 1024
HONEYPOT = "website"  # hidden from people (CSS, aria-hidden, tabindex=-1); bots fill it in
THANK_YOU_URL = "thank_you_url"
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")

# Custom attributes: unknown fields are kept, within bounds, never silently dropped from one post.
MAX_CUSTOM_PER_POST = 20
MAX_CUSTOM_PER_CONTACT = 50
MAX_CUSTOM_KEY = 40
MAX_CUSTOM_VALUE = 500
CUSTOM_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,39}$")
# Fields that carry no meaning for the contact: form plumbing sent by browsers and frameworks.
IGNORED = frozenset({"_charset_", "submit", "csrf_token", "csrfmiddlewaretoken", "g-recaptcha-response"})


@dataclass(frozen=True, slots=True)
class Field:
    """One field a lead form may send: its name, aliases, limits, label and OpenAPI description."""

    name: str
    label: str
    max_length: int
    description: str
    aliases: tuple[str, ...] = ()
    kind: str = "string"  # "string" | "boolean"
    fmt: str | None = None
    example: str | None = None


FIELDS: tuple[Field, ...] = (
    Field(
        "email",
        "Email",
        254,
        "Email address (required); the contact's identity.",
        ("e-mail", "mail"),
        fmt="email",
        example="zoe@example.com",
    ),
    Field(
        "first_name",
        "First name",
        100,
        "Given name, any script.",
        ("firstName", "firstname", "given_name"),
        example="Zoë",
    ),
    Field(
        "last_name",
        "Last name",
        100,
        "Family name, any script.",
        ("lastName", "lastname", "family_name"),
        example="Müller-Łukasiewicz",
    ),
    Field(
        "name",
        "Name",
        200,
        "Full name, used as the first name when no first/last name is given "
        "(names are not split: 'Putu Ayu' is one name).",
        ("full_name", "fullName"),
    ),
    Field(
        "phone",
        "Phone",
        40,
        "Phone number; stored in E.164 when it parses, else kept as written.",
        ("tel", "telephone", "phone_number"),
        example="+39 333 123 4567",
    ),
    Field(
        "country",
        "Country",
        2,
        "ISO 3166 country code, the default region for a national phone number.",
        example="IT",
    ),
    Field("company", "Company", 200, "Company or organization.", ("organization", "organisation")),
    Field(
        "message",
        "Message",
        4000,
        "What the person wrote; kept with the touch it came with.",
        ("comments", "comment", "enquiry", "inquiry"),
    ),
    Field(
        "birthday",
        "Birthday",
        10,
        "YYYY-MM-DD, or --MM-DD without the year.",
        ("birthdate",),
        example="--05-17",
    ),
    # A form's date control: day and month selects and an optional year, read as one birthday.
    Field("birthday_day", "Birthday", 2, "Day of the birthday (1-31), with birthday_month."),
    Field("birthday_month", "Birthday", 2, "Month of the birthday (1-12), with birthday_day."),
    Field("birthday_year", "Birthday", 4, "Year of birth (optional), with birthday_day and birthday_month."),
    Field("locale", "Language", 35, "Language tag: en, it, de, id, de-AT ...", ("language", "lang")),
    Field(
        "time_zone",
        "Time zone",
        64,
        "IANA time zone, e.g. Europe/Rome.",
        ("timezone", "tz", "timeZone"),
        example="Asia/Makassar",
    ),
    Field(
        "consent",
        "Marketing consent",
        5,
        "Explicit marketing consent: true/false (a checkbox sends 'on'). Absent means no decision.",
        ("marketing_consent", "newsletter"),
        kind="boolean",
    ),
    Field("form_id", "Form", 64, "Which form sent the lead (letters, digits, _ . : -).", ("formId", "form")),
    Field(
        "source_page",
        "Source page",
        2048,
        "Page the form was on (defaults to the Referer header); "
        "its query string is not stored, utm_* are taken from it.",
        ("page", "page_url", "sourcePage"),
        fmt="uri",
    ),
    *(Field(key, key, 200, f"Campaign parameter {key}.") for key in UTM_KEYS),
    Field(
        THANK_YOU_URL,
        "Thank-you page",
        2048,
        "Where a plain HTML form post is redirected (303) "
        "when its origin is allowed; else a built-in thank-you page is shown.",
        ("redirect", "_next"),
        fmt="uri",
    ),
    Field(
        HONEYPOT,
        "Website",
        200,
        "Honeypot: must stay empty. Hidden from people; a bot that fills it "
        "gets a normal-looking answer and nothing is stored.",
    ),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
_ALIASES: dict[str, str] = {alias.lower(): f.name for f in FIELDS for alias in (f.name, *f.aliases)}


def canonical(key: str) -> str | None:
    """The known field a posted key names ('firstName' -> 'first_name'), or None for a custom one."""
    return _ALIASES.get(key.strip().lower().replace("-", "_")) or _ALIASES.get(key.strip().lower())


def label(name: str) -> str:
    """A person-readable name for a field (custom fields keep their own name)."""
    known = BY_NAME.get(name)
    return known.label if known else name


def json_schema() -> dict[str, Any]:
    """JSON Schema of a lead post (all content types carry the same fields)."""
    properties: dict[str, Any] = {}
    for f in FIELDS:
        schema: dict[str, Any] = {"description": f.description}
        if f.kind == "boolean":
            schema["oneOf"] = [
                {"type": "boolean"},
                {"type": "string", "enum": ["on", "true", "false", "yes", "no"]},
            ]
        else:
            schema.update(type="string", maxLength=f.max_length)
        if f.fmt:
            schema["format"] = f.fmt
        if f.example:
            schema["example"] = f.example
        properties[f.name] = schema
    return {
        "type": "object",
        "required": ["email"],
        "properties": properties,
        "additionalProperties": {
            "type": "string",
            "maxLength": MAX_CUSTOM_VALUE,
            "description": f"Custom attribute (at most {MAX_CUSTOM_PER_POST} per post and "
            f"{MAX_CUSTOM_PER_CONTACT} per contact; names match {CUSTOM_KEY.pattern}).",
        },
    }
