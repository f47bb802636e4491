"""Words for a person who posted a form: each field problem and the result pages, in the page's language.

The API's JSON keeps naming the field with its technical `message`; a visitor reads `text`
(strings.yaml), in the language the form posted (`locale`/`lang`), else the browser's, else the default.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm_core.checks import read_yaml
from crm_core.leads.fields import BY_NAME, MAX_CUSTOM_VALUE, label
from crm_core.messaging.templates import locale_chain
from crm_core.settings import get_settings

if TYPE_CHECKING:
    from crm_core.errors import FieldError

STRINGS = Path(__file__).parent / "strings.yaml"
# FieldError codes worded for a visitor; any other problem is the form's, not the visitor's ("form").
WORDED = frozenset(
    {
        "required", "email", "too_long", "control_chars", "not_text", "country", "locale",
        "date_format", "date_unreal", "date_range", "time_zone", "boolean",
    }
)  # fmt: skip


@cache
def _strings() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = read_yaml(STRINGS)
    return data


def languages() -> tuple[str, ...]:
    """The languages the pages and messages are written in."""
    return tuple(_strings())


def page_locale(posted: str | None, accept_language: str | None) -> str:
    """The language to answer in: the form's own (`locale`), else the browser's, else the default."""
    from crm_core.campaigns.unsubscribe import browser_locales  # noqa: PLC0415 - pages only

    known = _strings()
    for tag in [posted, *browser_locales(accept_language)]:
        if not tag:
            continue
        for candidate in locale_chain(tag, tag)[:2]:
            if candidate in known:
                return candidate
    default = get_settings().default_locale
    return default if default in known else "en"


def words(locale: str) -> dict[str, Any]:
    """Every string of the pages in `locale` (one of `languages()`; English otherwise)."""
    return _strings().get(locale) or _strings()["en"]


def text(error: FieldError, locale: str) -> str:
    """What a visitor reads for one field problem, e.g. "Enter an email address like name@example.com."."""
    said = words(locale)
    name = said["labels"].get(error.field) or label(error.field)
    if error.code in WORDED:
        maximum = _max_length(error.field)
        return str(said[error.code]).format(label=name, max=maximum, field=error.field)
    return str(said["form"]).format(field=error.field)


def _max_length(name: str) -> int:
    known = BY_NAME.get(name)
    return known.max_length if known else MAX_CUSTOM_VALUE
