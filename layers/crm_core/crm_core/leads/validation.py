"""Validate and normalize posted fields into a Lead, reporting every problem at once.

Email: crm_core.contacts.identity (syntax, ASCII local parts only, international domains stored as
punycode; no DNS lookups on the request path).
Phone: phonenumbers to E.164, with a default region from the country or the locale; a number that
does not parse is kept as written. Time zone: any IANA name zoneinfo knows (tzdata is pinned).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from crm_core.contacts.identity import deliverable_address
from crm_core.errors import FieldError, ValidationFailed
from crm_core.leads import fields
from crm_core.leads.parsing import Value
from crm_core.models.contacts import contact_id_for, normalize_email

_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")
_FORM_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_BIRTHDAY = re.compile(r"^(?:(\d{4})|-)-(\d{2})-(\d{2})$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # a message may have lines and tabs
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f]")  # other fields are one line
MAX_IDEMPOTENCY_KEY = 200
IDEMPOTENCY_HEADER = "Idempotency-Key"
_TRUE = frozenset({"true", "on", "yes", "1", "y"})
_FALSE = frozenset({"false", "off", "no", "0", "n"})
# Regions for a bare language tag where one country is the obvious default for phone numbers.
_LANGUAGE_REGION = {"it": "IT", "de": "DE", "id": "ID", "fr": "FR", "es": "ES", "nl": "NL", "pl": "PL"}


@dataclass(frozen=True, slots=True)
class Lead:
    """A valid lead, normalized. Empty means "not given": it never overwrites what a contact has."""

    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None  # E.164
    phone_raw: str | None = None  # as written, when it did not parse
    company: str | None = None
    message: str | None = None
    birthday: str | None = None  # "YYYY-MM-DD" or "--MM-DD"
    locale: str | None = None
    time_zone: str | None = None
    consent: bool | None = None  # None: the post said nothing about consent
    form_id: str | None = None
    source_page: str | None = None  # without query string or fragment
    utm: Mapping[str, str] = field(default_factory=dict)
    custom: Mapping[str, str] = field(default_factory=dict)

    @property
    def contact_id(self) -> str:
        """The id of the contact this lead's address belongs to."""
        return contact_id_for(self.email)

    def fingerprint(self) -> str:
        """A digest of everything the post says: the same post twice has the same fingerprint."""
        content = {**asdict(self), "email": normalize_email(self.email)}  # the identity, not its spelling
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, default=dict)
        digest = hashlib.sha256(canonical.encode("utf-8")).digest()[:15]
        return base64.b32encode(digest).decode("ascii").lower()


@dataclass(frozen=True, slots=True)
class Submission:
    """A post as the API sees it: the lead (None for a honeypot hit), where to send the browser, its id.

    `thank_you_url` is as posted (absolute, or relative to the form's page); see crm_core.leads.web.
    """

    lead: Lead | None
    submission_id: str
    thank_you_url: str | None = None
    honeypot: bool = False
    email_hint: str = ""


def read_submission(
    posted: Mapping[str, Value],
    *,
    now: datetime,
    referer: str | None = None,
    idempotency_key: str | None = None,
) -> Submission:
    """Validate a post; raises ValidationFailed listing every invalid field.

    The submission id is the client's Idempotency-Key when it sends one (at most 200 printable ASCII
    characters, else ValidationFailed), else a digest of the lead itself (so a browser that posts the
    same form twice gets the same id).
    """
    known, custom_raw = _split(posted)
    thank_you = _text_of(
        known.get(fields.THANK_YOU_URL)
    )  # may be relative: the web layer resolves and checks it
    thank_you = thank_you if thank_you and len(thank_you) <= 2048 else None
    if _text_of(known.get(fields.HONEYPOT)):
        email = _text_of(known.get("email")) or ""
        return Submission(None, "honeypot", thank_you, honeypot=True, email_hint=email)
    errors: list[FieldError] = []
    lead = _lead(known, custom_raw, now=now, referer=referer, errors=errors)
    if errors or lead is None:
        raise ValidationFailed(errors or [FieldError("email", "is required", "required")])
    if idempotency_key and idempotency_key.strip():
        digest = hashlib.sha256(_idempotency_key(idempotency_key).encode("ascii")).digest()[:15]
        submission_id = "k" + base64.b32encode(digest).decode("ascii").lower()
    else:
        submission_id = "f" + lead.fingerprint()
    return Submission(lead, submission_id, thank_you)


def _idempotency_key(value: str) -> str:
    """The key as sent; raises ValidationFailed when it is too long (never truncated: two long keys
    sharing their first characters would collide) or not printable ASCII."""
    key = value.strip()
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise ValidationFailed(
            [FieldError(IDEMPOTENCY_HEADER, f"must be at most {MAX_IDEMPOTENCY_KEY} characters")]
        )
    if not all(" " <= ch <= "~" for ch in key):
        raise ValidationFailed([FieldError(IDEMPOTENCY_HEADER, "must be printable ASCII (a UUID is ideal)")])
    return key


def _split(posted: Mapping[str, Value]) -> tuple[dict[str, Value], dict[str, Value]]:
    known: dict[str, Value] = {}
    custom: dict[str, Value] = {}
    for key, value in posted.items():
        name = fields.canonical(key)
        if name is None:
            if key not in fields.IGNORED and value not in (None, ""):
                custom[key.strip()] = value
        elif name not in known or known[name] in (None, ""):
            known[name] = value
    return known, custom


def _text_of(value: Value) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = unicodedata.normalize("NFC", value).strip()
    return text or None


def _lead(
    known: dict[str, Value],
    custom_raw: dict[str, Value],
    *,
    now: datetime,
    referer: str | None,
    errors: list[FieldError],
) -> Lead | None:
    text = _texts(known, errors)
    email = _email(text.get("email"), errors)
    country = _country(text.get("country"), errors)
    locale = _locale(text.get("locale"), errors)
    phone, phone_raw = _phone(text.get("phone"), country or _region_of(locale))
    source_page, page_utm = _source_page(text.get("source_page"), referer, errors)
    custom = _custom(custom_raw, errors)
    if country:
        custom.setdefault("country", country)
    lead_fields = dict(
        first_name=text.get("first_name") or (None if text.get("last_name") else text.get("name")),
        last_name=text.get("last_name"),
        phone=phone,
        phone_raw=phone_raw,
        company=text.get("company"),
        message=text.get("message"),
        birthday=_birthday(text.get("birthday") or _birthday_parts(known, errors), now, errors),
        locale=locale,
        time_zone=_time_zone(text.get("time_zone"), errors),
        consent=_consent(known.get("consent"), errors),
        form_id=_form_id(text.get("form_id"), errors),
        source_page=source_page,
        utm={**page_utm, **{k: v for k in fields.UTM_KEYS if (v := text.get(k))}},
        custom=custom,
    )
    if email is None or errors:
        return None
    return Lead(email=email, **lead_fields)  # type: ignore[arg-type]


def _texts(known: dict[str, Value], errors: list[FieldError]) -> dict[str, str | None]:
    """The known text fields, normalized; a value too long, not text or with control characters is
    an error and left out."""
    text: dict[str, str | None] = {}
    for f in fields.FIELDS:
        value = known.get(f.name)
        if f.kind == "boolean" or value is None:
            continue
        if isinstance(value, bool):
            errors.append(FieldError(f.name, "must be text", "not_text"))
            continue
        cleaned = _text_of(value)
        if cleaned is not None and len(cleaned) > f.max_length:
            errors.append(FieldError(f.name, f"must be at most {f.max_length} characters", "too_long"))
        elif cleaned is not None and (_CONTROL if f.name == "message" else _CONTROL_LINE).search(cleaned):
            errors.append(FieldError(f.name, "contains control characters", "control_chars"))
        else:
            text[f.name] = cleaned
    return text


def _email(value: str | None, errors: list[FieldError]) -> str | None:
    if not value:
        errors.append(FieldError("email", "is required", "required"))
        return None
    try:
        return deliverable_address(value)
    except ValidationFailed as exc:
        errors.extend(FieldError(e.field, e.message, "email") for e in exc.errors)
        return None


def _country(value: str | None, errors: list[FieldError]) -> str | None:
    if not value:
        return None
    import phonenumbers  # noqa: PLC0415 - heavy metadata, only when a lead gives a phone or country

    code = value.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        errors.append(FieldError("country", "must be a two-letter country code such as IT or ID", "country"))
        return None
    return code


def _locale(value: str | None, errors: list[FieldError]) -> str | None:
    if not value:
        return None
    if not _LOCALE.match(value):
        errors.append(FieldError("locale", "must be a language tag such as en, it, de-AT or id", "locale"))
        return None
    parts = value.replace("_", "-").split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        out.append(part.upper() if len(part) == 2 else part.title() if len(part) == 4 else part.lower())
    return "-".join(out)


def _region_of(locale: str | None) -> str | None:
    if not locale:
        return None
    parts = locale.split("-")
    regions = [p for p in parts[1:] if len(p) == 2 and p.isalpha()]
    return regions[0] if regions else _LANGUAGE_REGION.get(parts[0])


def _phone(value: str | None, region: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    import phonenumbers  # noqa: PLC0415 - heavy metadata, only for a lead with a phone

    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None, value
    if not phonenumbers.is_valid_number(number):
        return None, value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def _birthday(value: str | None, now: datetime, errors: list[FieldError]) -> str | None:
    if not value:
        return None
    match = _BIRTHDAY.match(value)
    problem, code = "must be YYYY-MM-DD, or --MM-DD without the year", "date_format"
    if match:
        year, month, day = match.groups()
        try:
            born = date(int(year or 2000), int(month), int(day))  # 2000 is a leap year: --02-29 is fine
        except ValueError:
            problem, code = "is not a real date", "date_unreal"
        else:
            if year is None:
                return f"--{month}-{day}"
            if born > now.date() or born.year < 1900:
                problem, code = "must be a date between 1900 and today", "date_range"
            else:
                return born.isoformat()
    errors.append(FieldError("birthday", problem, code))
    return None


def _birthday_parts(known: dict[str, Value], errors: list[FieldError]) -> str | None:
    """A form's day, month and optional year selects as one birthday value ("--MM-DD" or "YYYY-MM-DD").

    None when none is given; a day without a month (or the reverse) is a birthday error."""
    day, month, year = (_text_of(known.get(f"birthday_{part}")) for part in ("day", "month", "year"))
    if not (day or month or year):
        return None
    if not (day and month and day.isdigit() and month.isdigit()) or (year and not year.isdigit()):
        errors.append(FieldError("birthday", "needs a day and a month (the year is optional)", "date_format"))
        return None
    return f"{year or '-'}-{int(month):02d}-{int(day):02d}"


def _time_zone(value: str | None, errors: list[FieldError]) -> str | None:
    if not value:
        return None
    from zoneinfo import ZoneInfo  # noqa: PLC0415 - only for a lead that gives a time zone

    try:
        ZoneInfo(value)
    except (KeyError, ValueError, OSError):  # not found (a KeyError), a bad key, or a folder like "Europe"
        errors.append(FieldError("time_zone", "must be an IANA time zone such as Europe/Rome", "time_zone"))
        return None
    return value


def _consent(value: Value, errors: list[FieldError]) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    word = value.strip().lower()
    if not word:
        return None
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    errors.append(FieldError("consent", "must be true or false", "boolean"))
    return None


def _form_id(value: str | None, errors: list[FieldError]) -> str | None:
    if value and not _FORM_ID.match(value):
        errors.append(FieldError("form_id", "may hold only letters, digits and _ . : -"))
        return None
    return value


def _url(value: Value) -> str | None:
    text = _text_of(value)
    if not text or len(text) > 2048:
        return None
    parts = urlsplit(text)
    return text if parts.scheme in {"http", "https"} and parts.netloc else None


def _source_page(
    value: str | None, referer: str | None, errors: list[FieldError]
) -> tuple[str | None, dict[str, str]]:
    """The page without its query (it may hold personal data), and the utm_* parameters found in it."""
    url = _url(value) or _url(referer)
    if value and url is None:
        errors.append(FieldError("source_page", "must be an http(s) URL"))
    if url is None:
        return None, {}
    parts = urlsplit(url)
    utm = {k: v[:200] for k, v in parse_qsl(parts.query) if k in fields.UTM_KEYS and v}
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), utm


def _custom(raw: dict[str, Value], errors: list[FieldError]) -> dict[str, str]:
    custom: dict[str, str] = {}
    for key, value in raw.items():
        if not fields.CUSTOM_KEY.match(key):
            errors.append(
                FieldError(
                    key, "is not a known field, and extra field names use letters, digits, _ . - (up to 40)"
                )
            )
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else _text_of(value)
        if text is None:
            continue
        if len(text) > fields.MAX_CUSTOM_VALUE or _CONTROL_LINE.search(text):
            errors.append(
                FieldError(key, f"must be plain text of at most {fields.MAX_CUSTOM_VALUE} characters")
            )
            continue
        custom[key] = text
    if len(custom) > fields.MAX_CUSTOM_PER_POST:
        errors.append(FieldError("custom", f"at most {fields.MAX_CUSTOM_PER_POST} extra fields per post"))
    return custom
