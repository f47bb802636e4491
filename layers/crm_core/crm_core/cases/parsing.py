"""Inbound mail to what a case needs: who, subject, the new text, attachments, threading ids, flags.

Built on the standard library's `email` package with `policy.default` (RFC 5322/2047/2231 aware),
hardened for what real mail does:
- charsets: the declared one, except that bytes which are valid UTF-8 win over a declared
  single-byte Latin charset (the usual mislabel), ISO-8859-1 is read as its superset windows-1252
  (as browsers do), unknown or wrong labels fall back to UTF-8 then windows-1252; raw 8-bit
  headers are repaired the same way;
- HTML-only mail is converted to text (`html_text`);
- attachments are listed as name, type and size, never kept (the message stays in S3);
- mail above `LARGE_MESSAGE_BYTES` is reduced to its skeleton first (`skeleton`), so a 40 MB
  message costs what its text costs;
- the quoted history under "On ... wrote:" (and its Italian, German, Indonesian and Outlook forms)
  is trimmed from the new text;
- every field and list is bounded (`crm_core.cases.limits`), and a message of more MIME parts or
  multipart containers than the limits is refused as "too complex" by a linear scan of its bytes,
  before the parser walks it (tens of thousands of tiny parts took 16 s to parse).
`parse` raises `Unreadable` only when nothing usable is left (no sender, not a message at all);
the intake turns that, and any other surprise, into a quarantined case with the reason.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from typing import TYPE_CHECKING

from crm_core.cases import limits
from crm_core.cases.html_text import html_to_text
from crm_core.cases.skeleton import STRIPPED_SIZE_HEADER, skeleton

if TYPE_CHECKING:
    from collections.abc import Iterator

LARGE_MESSAGE_BYTES = 1_000_000
MAX_TEXT_CHARS = limits.TEXT_CHARS  # what a case event keeps of a body (DynamoDB items stop at 400 KB)
SCREENING_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "list-post",
    "return-path",
    "content-language",
    "x-spam-flag",
)
_LATIN = frozenset(
    {"us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "iso-8859-15", "windows-1252", "cp1252"}
)
_AS_1252 = frozenset({"iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii"})


class Unreadable(Exception):  # noqa: N818 - reads as the reason: Unreadable("no sender")
    """The bytes are not a message a case can be made of; the text says why."""


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class ParsedMail:
    sender: str  # the From address, as written (identity uses normalize_email)
    sender_name: str
    recipients: tuple[str, ...]  # To and Cc addresses
    reply_to: str | None
    subject: str
    message_id: str | None  # without angle brackets
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str  # the whole text body
    new_text: str  # the text without the quoted history
    html_only: bool
    attachments: tuple[Attachment, ...]
    headers: dict[str, str]  # the screening headers present, lower-case names
    content_type: str
    size: int
    reduced: bool  # parsed from the skeleton of a very large message
    notes: tuple[str, ...] = field(default=())  # what was repaired (charset fallbacks, defects)
    attachments_omitted: int = 0  # attachments beyond limits.ATTACHMENTS_LISTED: counted, not listed


# ---- text decoding ---------------------------------------------------------------------------


def _known(charset: str) -> bool:
    try:
        codecs.lookup(charset)
        return True
    except LookupError:
        return False


def decode_bytes(data: bytes, declared: str | None, notes: list[str] | None = None) -> str:
    """Bytes to text: declared charset, UTF-8 where a Latin label lies, windows-1252 as last resort."""
    label = (declared or "").strip().strip('"').lower()
    candidates: list[str] = []
    if label in _LATIN and any(b > 0x7F for b in data):
        candidates.append("utf-8")  # valid UTF-8 multibyte runs are next to impossible in real Latin text
    if label:
        candidates.append("windows-1252" if label in _AS_1252 else label)
    candidates += ["utf-8", "windows-1252"]
    for charset in dict.fromkeys(candidates):
        if not _known(charset):
            if notes is not None:
                notes.append(f"unknown charset {label!r}")
            continue
        try:
            text = data.decode(charset)
        except (UnicodeDecodeError, LookupError):
            continue
        if (
            notes is not None
            and label
            and charset not in {label, "windows-1252" if label in _AS_1252 else label}
        ):
            notes.append(f"declared {label or 'no charset'}, read as {charset}")
        return text
    if notes is not None:
        notes.append("undecodable bytes replaced")
    return data.decode("windows-1252", errors="replace")


def _repair(value: str) -> str:
    """Undo the surrogate escapes that raw 8-bit header bytes become."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"), "utf-8")


def _raw_headers(msg: Message, name: str) -> list[str]:
    """The values of a header straight from the source, encoded words decoded where they decode.

    The policy's structured parsing raises on some malformed addresses; this never does.
    """
    found = []
    for key, value in msg.raw_items():
        if key.lower() != name.lower():
            continue
        text = str(value)
        with contextlib.suppress(Exception):  # undecodable encoded words: keep the raw text
            text = str(make_header(decode_header(text)))
        found.append(_repair(text))
    return found


def _header(msg: Message, name: str) -> str:
    """A header as clean text (encoded words decoded, raw 8-bit repaired); '' when absent or hopeless."""
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a malformed header must not cost the whole message
        value = None
    if value is None:
        raw = _raw_headers(msg, name)
        value = raw[0] if raw else None
    if value is None:
        return ""
    try:
        text = str(value)
    except Exception:  # noqa: BLE001
        return ""
    return " ".join(_repair(text).split())


def _part_text(part: Message, notes: list[str]) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - broken transfer encoding: keep what is there
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return decode_bytes(payload, part.get_content_charset(), notes)


# ---- message ids -----------------------------------------------------------------------------

_ID = re.compile(r"<([^<>\s]+)>")


def message_ids(value: str) -> tuple[str, ...]:
    """The ids in a Message-ID / In-Reply-To / References value, without angle brackets; ids longer
    than limits.MESSAGE_ID_CHARS are left out (no real id is that long, and they could not thread)."""
    found = _ID.findall(value)
    if not found and value.strip() and " " not in value.strip():
        found = [value.strip().strip("<>")]
    return tuple(i for i in dict.fromkeys(found) if len(i) <= limits.MESSAGE_ID_CHARS)


# ---- quoted history ---------------------------------------------------------------------------

_LINE = r"[^\n]{0,200}"
_SPAN = _LINE + r"(?:\n" + _LINE + r")?"  # a reply header wraps onto two lines at most
_REPLY_HEADER = re.compile(
    r"^[ \t>]*(?:"
    rf"On\b{_SPAN}\bwrote:[ \t]*$"  # en (Gmail, Apple Mail, Thunderbird)
    rf"|Il\b{_SPAN}\bha scritto:[ \t]*$"  # it
    rf"|Am\b{_SPAN}\bschrieb\b{_LINE}:[ \t]*$"  # de
    rf"|Pada\b{_SPAN}\bmenulis:[ \t]*$"  # id
    r"|-{2,}\s*(?:Original Message|Messaggio originale|Urspr\u00fcngliche Nachricht|Pesan Asli)\s*-{2,}"
    r"|_{20,}[ \t]*$"  # Outlook's rule above the quoted headers
    r"|(?:From|Da|Von|Dari):[^\n]*\n[ \t]*(?:Sent|Inviato|Gesendet|Dikirim|Date|Data|Datum|Tanggal):"
    r")",
    re.IGNORECASE | re.MULTILINE,
)


def trim_quoted(text: str) -> str:
    """The text written in this message: the quoted history below a reply header and '>' tails removed."""
    match = _REPLY_HEADER.search(text)
    head = text[: match.start()] if match else text
    lines = head.rstrip().splitlines()
    while lines and (lines[-1].lstrip().startswith(">") or not lines[-1].strip()):
        lines.pop()
    trimmed = "\n".join(lines).strip()
    return trimmed or text.strip()


# ---- the message ------------------------------------------------------------------------------


def _sender(msg: Message) -> tuple[str, str]:
    try:
        addresses = getattr(msg.get("From"), "addresses", None)
    except Exception:  # noqa: BLE001 - fall back to the raw header below
        addresses = None
    if addresses:
        first: Address = addresses[0]
        if first.addr_spec and "@" in first.addr_spec:
            return _repair(first.addr_spec), _repair(first.display_name or "")
    raw = " ".join(_raw_headers(msg, "From"))
    name, address = parseaddr(_repair(raw))
    if "@" not in address:
        found = [a for _, a in getaddresses([raw]) if "@" in a]
        address = found[0] if found else ""
    return address, name


def _recipients(msg: Message) -> tuple[str, ...]:
    values = [v for h in ("To", "Cc") for v in _raw_headers(msg, h)]
    found = (a for _, a in getaddresses(values) if "@" in a and len(a) <= limits.ADDRESS_CHARS)
    return tuple(found)[: limits.RECIPIENTS]


def _bodies(msg: Message, notes: list[str]) -> tuple[str, bool]:
    plain: Message | None = None
    html: Message | None = None
    if isinstance(msg, EmailMessage):
        try:
            plain = msg.get_body(preferencelist=("plain",))
            html = msg.get_body(preferencelist=("html",))
        except Exception:  # noqa: BLE001 - walk the parts by hand below
            plain = html = None
    if plain is None and html is None:
        if msg.get_content_maintype() == "multipart" and isinstance(msg.get_payload(), str):  # no boundary
            notes.append("multipart without parts read as text")
            return _part_text(msg, notes), False
        for part in _leaves(msg):
            if part.is_multipart() or "attachment" in str(part.get("Content-Disposition", "")).lower():
                continue
            kind = part.get_content_type()
            if kind == "text/plain" and plain is None:
                plain = part
            elif kind == "text/html" and html is None:
                html = part
    if plain is not None and not plain.get(STRIPPED_SIZE_HEADER):
        return _part_text(plain, notes), False
    if html is not None and not html.get(STRIPPED_SIZE_HEADER):
        return html_to_text(_part_text(html, notes)), True
    return "", False


def _is_attachment(part: Message) -> bool:
    return "attachment" in str(part.get("Content-Disposition", "")).lower() or bool(part.get_filename())


def _leaves(msg: Message) -> Iterator[Message]:
    """Every leaf part in order; an attached message (message/rfc822) counts as one leaf."""
    if msg.get_content_maintype() == "message" and msg.is_multipart():
        yield msg
        return
    if msg.is_multipart():
        payload = msg.get_payload()
        for part in payload if isinstance(payload, list) else []:
            if isinstance(part, Message):
                yield from _leaves(part)
        return
    yield msg


def _size(part: Message) -> int:
    stripped = part.get(STRIPPED_SIZE_HEADER)
    if stripped and str(stripped).isdigit():
        return int(str(stripped))
    if part.is_multipart():  # an attached message
        return len(part.as_bytes()) if hasattr(part, "as_bytes") else 0
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        payload = None
    return len(payload) if isinstance(payload, bytes) else len(str(part.get_payload()))


def _attachments(msg: Message, body_parts: set[int]) -> list[Attachment]:
    found = []
    for part in _leaves(msg):
        if part is msg or id(part) in body_parts:
            continue
        disposition = str(part.get("Content-Disposition", "")).lower()
        name = part.get_filename()
        kind = part.get_content_type()
        if (
            not name
            and "attachment" not in disposition
            and (kind.startswith("text/") or kind.startswith("multipart/"))
        ):
            continue
        stripped = part.get(STRIPPED_SIZE_HEADER)
        if stripped and str(stripped).isdigit():
            size = int(str(stripped))
        else:
            try:
                payload = part.get_payload(decode=True)
            except Exception:  # noqa: BLE001
                payload = None
            size = len(payload) if isinstance(payload, bytes) else len(str(part.get_payload()))
        found.append(
            Attachment(
                name=limits.clip(
                    _repair(name or f"unnamed.{kind.split('/')[-1]}"), limits.ATTACHMENT_NAME_CHARS
                ),
                content_type=limits.clip(kind, limits.CONTENT_TYPE_CHARS),
                size=size,
            )
        )
    return found


_BOUNDARY = re.compile(rb"""boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))""", re.IGNORECASE)
_DASHES = re.compile(rb"^--([^\r\n]{0,210})", re.MULTILINE)


def check_complexity(raw: bytes) -> None:
    """Refuse a message with more MIME parts or multipart containers than the limits, in one linear
    pass over its bytes (before any parser walks it); raises Unreadable("too complex: ...")."""
    boundaries = {quoted or bare for quoted, bare in _BOUNDARY.findall(raw)}
    if len(boundaries) > limits.MAX_MULTIPARTS:
        raise Unreadable(f"too complex: more than {limits.MAX_MULTIPARTS} multipart containers")
    parts = 0
    for lines, match in enumerate(_DASHES.finditer(raw), start=1):
        marker = match.group(1).rstrip(b" \t")
        if marker in boundaries:  # an opening delimiter: one more part (closing ones end with --)
            parts += 1
        # lines starting with "--" bound the parts even when a boundary hides from the pattern above
        if parts > limits.MAX_PARTS or lines > 4 * limits.MAX_PARTS:
            raise Unreadable(f"too complex: more than {limits.MAX_PARTS} MIME parts")


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD_START = re.compile(rb"\r?\n(?=[^ \t])")


def bound_headers(raw: bytes) -> tuple[bytes, list[str]]:
    """The message with each top-level header field cut to limits.HEADER_FIELD_BYTES (the parser's
    time grows with a field's length), and notes on what was cut; raises Unreadable("too complex")
    beyond limits.MAX_HEADER_FIELDS fields."""
    end = _HEADER_END.search(raw)
    split = end.start() if end else len(raw)
    head, body = raw[:split], raw[split:]
    if len(head) <= limits.HEADER_FIELD_BYTES:
        return raw, []
    fields = _FIELD_START.split(head)
    if len(fields) > limits.MAX_HEADER_FIELDS:
        raise Unreadable(f"too complex: more than {limits.MAX_HEADER_FIELDS} header fields")
    long = [f for f in fields if len(f) > limits.HEADER_FIELD_BYTES]
    if not long:
        return raw, []
    newline = b"\r\n" if b"\r\n" in head[:2000] else b"\n"
    cut = [f[: limits.HEADER_FIELD_BYTES] for f in fields]
    names = [f.split(b":", 1)[0][:40].decode("ascii", "replace") for f in long]
    return newline.join(cut) + body, [f"header {name} cut" for name in names[:3]]


def parse(raw: bytes) -> ParsedMail:
    """Parse one RFC 5322 message; raises Unreadable when no case can be made of it (empty, not a
    message, no sender, a sender address over limits.ADDRESS_CHARS, too complex)."""
    if not raw or not raw.strip():
        raise Unreadable("empty message")
    check_complexity(raw)
    bounded, cut = bound_headers(raw)
    reduced = len(bounded) > LARGE_MESSAGE_BYTES
    source = skeleton(bounded) if reduced else bounded
    msg = message_from_bytes(source, policy=policy.default)
    if not msg.keys():
        raise Unreadable("no headers: not an email message")
    notes = cut + [type(d).__name__ for d in getattr(msg, "defects", [])][:5]
    sender, name = _sender(msg)
    if not sender:
        raise Unreadable("no sender address in From")
    if len(sender) > limits.ADDRESS_CHARS:
        raise Unreadable(f"sender address longer than {limits.ADDRESS_CHARS} characters")
    text, html_only = _bodies(msg, notes)
    body_parts: set[int] = set()
    for part in _leaves(msg):
        if part.get_content_type() in {"text/plain", "text/html"} and not _is_attachment(part):
            body_parts.add(id(part))
    text = text.replace("\r\n", "\n").strip()
    reply_to = _header(msg, "Reply-To")
    headers = {h: _header(msg, h)[: limits.HEADER_CHARS] for h in SCREENING_HEADERS if msg.get_all(h)}
    attachments = _attachments(msg, body_parts)
    reply_address = parseaddr(reply_to)[1]
    return ParsedMail(
        sender=sender,
        sender_name=limits.clip(name, limits.NAME_CHARS),
        recipients=_recipients(msg),
        reply_to=reply_address if reply_address and len(reply_address) <= limits.ADDRESS_CHARS else None,
        subject=limits.clip(_header(msg, "Subject"), limits.SUBJECT_CHARS),
        message_id=next(iter(message_ids(_header(msg, "Message-ID"))), None),
        in_reply_to=message_ids(_header(msg, "In-Reply-To"))[: limits.THREAD_IDS],
        references=message_ids(_header(msg, "References"))[-limits.THREAD_IDS :],  # the nearest last
        text=text[:MAX_TEXT_CHARS],
        new_text=trim_quoted(text[: 2 * MAX_TEXT_CHARS])[:MAX_TEXT_CHARS],
        html_only=html_only,
        attachments=tuple(attachments[: limits.ATTACHMENTS_LISTED]),
        headers=headers,
        content_type=limits.clip(msg.get_content_type(), limits.CONTENT_TYPE_CHARS),
        size=len(raw),
        reduced=reduced,
        notes=tuple(limits.clip(n, limits.NOTE_CHARS) for n in dict.fromkeys(notes))[: limits.NOTES],
        attachments_omitted=max(0, len(attachments) - limits.ATTACHMENTS_LISTED),
    )
