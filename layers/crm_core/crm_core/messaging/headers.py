"""The one builder of mail headers made from data: it cannot emit a header we did not intend.

Python's `email` package (3.10-3.12 before 3.12.5) decodes RFC 2047 encoded-words found in a value it
is handed and can write a CR/LF out of them, so filtering raw control characters is not enough. This
module never hands data to the `email` package's header parser: every value is cleaned (control and
line-separator characters become spaces, `=?` is broken so no encoded-word survives), then written
as 7-bit ASCII by us: plain when it is plain printable ASCII, else as encoded-words we make ourselves.
The result depends on no Python patch level.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.header import Header

from crm_core.errors import CrmError

# Unicode categories that never belong in a header value: controls (Cc, CR/LF/NEL among them), format
# characters (Cf: bidi overrides, zero-width joiners used to disguise text), line and paragraph
# separators (Zl U+2028, Zp U+2029), lone surrogates (Cs, which no encoder accepts) and unassigned.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,75}")
# A dot-atom local part (RFC 5322 atext without "=" and "?", which could start an encoded-word) and
# an LDH domain: the only addresses SES sends to and no parser can read as anything else.
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*")
_DOMAIN = re.compile(r"(?=.{1,253}\Z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}")
_MESSAGE_ID = re.compile(r"<[!#-;=?-\[\]-~]{1,250}@[!#-;=?-\[\]-~]{1,250}>")  # printable, no <>\ or space
# Headers whose value is one or more message ids: written only from ids that parse as such.
MESSAGE_ID_HEADERS = frozenset({"in-reply-to", "references"})
# Headers the builder writes itself: a data-driven custom header may never replace or add them.
RESERVED = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "sender",
        "subject",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "return-path",
        "date",
        "message-id",
    }
)
MAX_TEXT = 250  # characters of a subject or custom value kept (a mail client shows far fewer)
MAX_NAME = 64  # characters of a display name kept
_FOLD_AT = 76  # RFC 5322's advised line length (78) less the CRLF
_MAX_PLAIN_WORD = 60  # a longer unbroken word is written as encoded-words so every line stays short


class HeaderError(CrmError, ValueError):
    """A header cannot be written safely: an invalid header name or an address SES cannot send to."""


class UnsendableAddress(HeaderError):
    """An address SES would refuse: a UTF-8 local part, an invalid domain, or not an address at all."""


@dataclass(frozen=True, slots=True)
class HeaderLine:
    """One header as it is written: its name and its value, already 7-bit ASCII and folded."""

    name: str
    value: str

    def render(self) -> str:
        """The header as one CRLF-terminated line."""
        return f"{self.name}: {self.value}\r\n"


def clean_text(value: str, limit: int = MAX_TEXT) -> str:
    """`value` as one line of display text: every control, format or line-separator character
    becomes a space, whitespace runs collapse, `=?` is broken (so nothing reads as an encoded-word),
    cut to `limit` characters. Raises nothing."""
    chars = (" " if unicodedata.category(c) in _UNSAFE_CATEGORIES else c for c in value)
    text = " ".join("".join(chars).split())
    while "=?" in text:  # a loop: "==??" would leave a new "=?" after a single pass
        text = text.replace("=?", "= ?")
    return text[:limit].rstrip()


def ascii_address(address: str) -> str:
    """The address as SES must receive it: ASCII local part, IDN domain in punycode, lower-case domain.

    Raises UnsendableAddress for a UTF-8 local part (SES refuses SMTPUTF8), an invalid domain, or a
    string that is not a bare address.
    """
    local, at, domain = address.strip().rpartition("@")
    if not at or not _LOCAL_PART.fullmatch(local) or len(local) > 64:
        raise UnsendableAddress("the local part is not an ASCII dot-atom (SES sends to no other)")
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise UnsendableAddress("the domain is not a valid (internationalized) domain name") from exc
    if not _DOMAIN.fullmatch(ascii_domain):
        raise UnsendableAddress("the domain is not a valid domain name")
    return f"{local}@{ascii_domain}"


def _fold_plain(name: str, words: list[str]) -> str:
    """Join words with spaces, starting a continuation line before a word that would pass _FOLD_AT."""
    lines, line = [], ""
    width = len(name) + 2
    for word in words:
        if line and width + len(line) + 1 + len(word) > _FOLD_AT:
            lines.append(line)
            line, width = word, 1
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n ".join(lines)


def encode_text(name: str, text: str) -> str:
    """An already clean text value written as 7-bit header text: plain ASCII words folded, or
    encoded-words (RFC 2047, UTF-8) when it holds anything else. Raises nothing."""
    words = text.split()
    plain = all(w.isascii() and w.isprintable() and len(w) <= _MAX_PLAIN_WORD for w in words)
    if plain:
        return _fold_plain(name, words)
    return Header(text, "utf-8", header_name=name).encode(linesep="\r\n", maxlinelen=_FOLD_AT)


def address(name: str | None, addr: str) -> str:
    """`Display Name <addr>` (or the bare address) as a header value: the name cleaned, quoted or
    encoded, the address made ASCII. Raises UnsendableAddress when SES cannot send to `addr`."""
    spec = ascii_address(addr)
    display = clean_text(name or "", MAX_NAME)
    if not display:
        return spec
    if display.isascii():
        escaped = display.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}" <{spec}>'
    encoded = Header(display, "utf-8").encode(linesep="\r\n", maxlinelen=_FOLD_AT)
    return f"{encoded}\r\n <{spec}>"


def message_ids(value: str) -> str | None:
    """Only the well-formed `<id@host>` tokens of an In-Reply-To/References value, or None."""
    found = _MESSAGE_ID.findall(value)
    return "\r\n ".join(found[-20:]) if found else None  # the last ids are the ones that thread


def _custom(name: str, value: str) -> HeaderLine | None:
    if not _HEADER_NAME.fullmatch(name) or name.lower() in RESERVED:
        raise HeaderError(f"{name!r} is not a header name the builder may write")
    if name.lower() in MESSAGE_ID_HEADERS:
        ids = message_ids(value)
        return HeaderLine(name, ids) if ids else None
    text = clean_text(value, 2000)  # List-Unsubscribe URLs are long; the cap only bounds the line count
    return HeaderLine(name, encode_text(name, text)) if text else None


def build_headers(
    *,
    sender: tuple[str | None, str],
    to: str,
    subject: str,
    reply_to: str | None = None,
    custom: Mapping[str, str] | None = None,
) -> list[HeaderLine]:
    """Every data-made header of a message, in order, each a `HeaderLine` ready to write.

    `sender` is (display name, address). Custom headers with no value left after cleaning (or, for
    In-Reply-To/References, no well-formed message id) are left out. Raises UnsendableAddress for an
    address SES cannot send to, HeaderError for a custom header name that is invalid or reserved.
    """
    lines = [
        HeaderLine("From", address(*sender)),
        HeaderLine("To", address(None, to)),
        HeaderLine("Subject", encode_text("Subject", clean_text(subject))),
    ]
    if reply_to:
        lines.append(HeaderLine("Reply-To", address(None, reply_to)))
    seen = {line.name.lower() for line in lines}
    for name, value in (custom or {}).items():
        if name.lower() in seen:
            raise HeaderError(f"{name!r} given twice")
        seen.add(name.lower())
        line = _custom(name, value)
        if line is not None:
            lines.append(line)
    return lines


def render(lines: Iterable[HeaderLine]) -> bytes:
    """The header block's bytes (without the blank line that ends it). Raises nothing: every line
    is 7-bit ASCII by construction."""
    return "".join(line.render() for line in lines).encode("ascii")
