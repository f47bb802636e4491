"""The one look of every page the API serves to a browser (unsubscribe, consent, lead form results).

The brand's band and colours are the emails' (crm_core.messaging.templates.PALETTE), so a visitor who
arrives from a message or a form sees the same site. Autoescaped; no script, no external resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from crm_core.messaging.templates import PALETTE, brand

if TYPE_CHECKING:
    from jinja2 import Environment

HERE = Path(__file__).parent


@cache
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined  # noqa: PLC0415

    environment = Environment(loader=FileSystemLoader(HERE), autoescape=True, undefined=StrictUndefined)
    environment.globals["palette"] = PALETTE
    return environment


def render(
    locale: str,
    title: str,
    paragraphs: Sequence[str] = (),
    *,
    items: Sequence[str] = (),
    alert: bool = False,
    button: str = "",
    token: str = "",
    note: str = "",
    link: tuple[str, str] | None = None,
) -> str:
    """A page: `title`, `paragraphs`, a list of `items` (announced at once when `alert`), an optional
    `button` posting back with `token`, a quiet `note` and a `link` (href, text), under the brand's band.
    Raises ConfigurationError when the brand cannot be read."""
    return (
        _environment()
        .get_template("page.html.j2")
        .render(
            locale=locale,
            brand=brand(),
            title=title,
            paragraphs=list(paragraphs),
            items=list(items),
            alert=alert,
            button=button,
            token=token,
            note=note,
            link=link,
        )
    )
