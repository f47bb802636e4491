"""Message templates (Jinja2): `templates/<name>/<locale>.{subject,txt,html}.j2`, English fallback.

HTML is autoescaped; subject and text are not HTML, so they are rendered without escaping. Every HTML
part extends `_layout/email.html.j2` (the brand's header and footer, in `PALETTE`'s colours); every
message gets `brand` (campaigns.yaml's `brand:`) and its HTML part `message_subject`.
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
LAYOUT = "_layout/email.html.j2"

# The layout's colours. Each text colour meets WCAG AA (4.5:1) on the background it is drawn on:
# tests/unit/messaging/test_email_layout.py computes the ratios, so a new colour cannot slip below it.
PALETTE: dict[str, str] = {
    "page": "#f4f4f5",  # around the card; the footer sits on it
    "header": "#1e3a8a",  # the brand's band
    "header_text": "#ffffff",
    "card": "#ffffff",
    "text": "#1f2937",
    "muted_text": "#4b5563",  # secondary text on the card: a scale's legend, an empty list
    "link": "#1d4ed8",
    "button": "#1d4ed8",
    "button_text": "#ffffff",
    "footer_text": "#4b5563",
}
# (text, background) pairs drawn by the layout and the templates; each must reach 4.5:1.
CONTRASTS: tuple[tuple[str, str], ...] = (
    ("header_text", "header"),
    ("text", "card"),
    ("muted_text", "card"),
    ("link", "card"),
    ("button_text", "button"),
    ("footer_text", "page"),
)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message rendered in one locale: subject, text and HTML."""

    locale: str
    subject: str
    text: str
    html: str


@cache
def _environment(autoescape: bool) -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined  # noqa: PLC0415 - jinja2 only when a message is rendered

    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=autoescape,  # noqa: S701 - on for HTML; text mail and subjects are not HTML
        undefined=StrictUndefined,  # a missing variable is a bug, not an empty string in a customer's mail
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    environment.globals["palette"] = PALETTE
    return environment


def brand() -> dict[str, str]:
    """The brand every message shows (campaigns.yaml's `brand:`: name, website); raises ConfigurationError."""
    from crm_core.campaigns import definitions  # noqa: PLC0415 - campaigns imports this module

    return dict(definitions.brand())


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
    ctx = {"brand": brand(), **context, "locale": chosen}
    plain = _environment(False)
    subject = " ".join(plain.get_template(f"{name}/{chosen}.subject.j2").render(ctx).split())
    text = plain.get_template(f"{name}/{chosen}.txt.j2").render(ctx)
    html = _environment(True).get_template(f"{name}/{chosen}.html.j2").render(ctx, message_subject=subject)
    return Rendered(locale=chosen, subject=subject, text=text.strip() + "\n", html=html)
