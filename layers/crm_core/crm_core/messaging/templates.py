"""Message templates (Jinja2): `templates/<name>/<locale>.{subject,txt,html}.j2`, English fallback.

HTML is autoescaped; subject and text are not HTML, so they are rendered without escaping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm_core.errors import ConfigurationError

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATE_DIR = Path(__file__).parent / "templates"
FALLBACK_LOCALE = "en"


@dataclass(frozen=True, slots=True)
class Rendered:
    locale: str
    subject: str
    text: str
    html: str


@cache
def _environment(autoescape: bool) -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined  # noqa: PLC0415

    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=autoescape,
        undefined=StrictUndefined,  # a missing variable is a bug, not an empty string in a customer's mail
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def locale_chain(locale: str | None, default: str = FALLBACK_LOCALE) -> list[str]:
    """Locales to try, most specific first: "de-AT" -> ["de-at", "de", default, "en"]."""
    chain: list[str] = []
    if locale:
        tag = locale.strip().replace("_", "-").lower()
        chain += [tag, tag.split("-")[0]]
    chain += [default.lower(), FALLBACK_LOCALE]
    return list(dict.fromkeys(c for c in chain if c))


def available_locales(name: str) -> set[str]:
    """The locales a template exists in (those with all three parts)."""
    folder = TEMPLATE_DIR / name
    subjects = {p.name.split(".")[0] for p in folder.glob("*.subject.j2")}
    return {
        loc
        for loc in subjects
        if (folder / f"{loc}.txt.j2").exists() and (folder / f"{loc}.html.j2").exists()
    }


def render(name: str, locale: str | None, context: Mapping[str, Any], default_locale: str = "en") -> Rendered:
    """Render template `name` in the best available locale; raises ConfigurationError if none exists."""
    have = available_locales(name)
    chosen = next((loc for loc in locale_chain(locale, default_locale) if loc in have), None)
    if chosen is None:
        raise ConfigurationError(f"message template {name!r} has no {FALLBACK_LOCALE!r} version")
    ctx = {**context, "locale": chosen}
    plain = _environment(False)
    subject = plain.get_template(f"{name}/{chosen}.subject.j2").render(ctx)
    text = plain.get_template(f"{name}/{chosen}.txt.j2").render(ctx)
    html = _environment(True).get_template(f"{name}/{chosen}.html.j2").render(ctx)
    return Rendered(locale=chosen, subject=" ".join(subject.split()), text=text.strip() + "\n", html=html)
