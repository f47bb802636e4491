"""The one look of every page the API serves to a browser (unsubscribe, consent, lead form results,
survey answers).

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
def environment(pages: Path | None = None) -> Environment:
    """The pages' Jinja environment: `page.html.j2`, plus the templates of folder `pages` (an area's own
    pages, which extend `page.html.j2` and fill its `content` and `style` blocks)."""
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined  # noqa: PLC0415 - jinja2 only when a page is rendered

    folders = [pages, HERE] if pages is not None else [HERE]
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(folder) for folder in folders]),
        autoescape=True,
        undefined=StrictUndefined,
    )
    env.globals["palette"] = PALETTE
    return env


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
        environment()
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
