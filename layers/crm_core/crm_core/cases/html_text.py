"""HTML mail to readable plain text with the standard library's HTMLParser.

Why not html2text: it is GPL-3.0, which this Apache-2.0 layer cannot bundle, and BeautifulSoup adds
a dependency for what is, in mail, a small job: drop head/style/script, break lines at blocks,
keep link targets, list bullets and entity decoding. HTMLParser never raises on broken markup.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {
        "p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
        "blockquote", "pre", "hr", "section", "article", "header", "footer", "address",
    }
)  # fmt: skip
_SKIP = frozenset({"head", "style", "script", "title", "template", "noscript"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.href: str | None = None
        self.link_text: list[str] = []
        self.quote_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")
            if tag == "blockquote":
                self.quote_depth += 1
        elif tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []
        elif tag == "td":
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS and tag != "li":
            self.parts.append("\n")
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)
        elif tag == "a" and self.href:
            text = "".join(self.link_text).strip()
            if self.href.startswith(("http://", "https://")) and self.href != text:
                self.parts.append(f" ({self.href})")
            self.href = None

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.href is not None:
            self.link_text.append(data)
        if self.quote_depth:
            data = data.replace("\n", " ")
            self.parts.append("> " * self.quote_depth if self.parts and self.parts[-1].endswith("\n") else "")
        self.parts.append(data)


_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


def html_to_text(html: str) -> str:
    """Readable text of an HTML document or fragment; never raises on malformed markup."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # noqa: BLE001, S110 - HTMLParser is lenient; anything left is dropped, never raised
        pass
    lines = [_SPACES.sub(" ", line).strip() for line in "".join(extractor.parts).splitlines()]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()
