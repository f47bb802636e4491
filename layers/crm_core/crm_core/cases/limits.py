"""What a case keeps of an inbound message: every stored field and list has a bound.

A DynamoDB item stops at 400 KB, and a message is whatever its sender made it: a subject of a
megabyte, thousands of attachments, tens of thousands of MIME parts. Within these bounds the
case event of the largest message stays well under the item limit (text 20,000 characters of up
to 4 bytes, 100 attachments of up to ~900 bytes, the rest a few KB); the whole message stays in
S3 for whoever needs more. Beyond the parsing bounds a message is quarantined as "too complex"
before the parser walks it, so the time to read it is bounded too.
"""

from __future__ import annotations

SUBJECT_CHARS = 500  # subjects of the case and of its events
NAME_CHARS = 200  # the sender's display name
ADDRESS_CHARS = 320  # an address: 64 (local part) + 1 + 255 (domain), RFC 5321's own limits
MESSAGE_ID_CHARS = 250  # longer ids are cut (and so cannot thread): real ids are under 100
THREAD_IDS = 50  # In-Reply-To / References ids looked up (the nearest ones)
RECIPIENTS = 50  # To / Cc addresses looked at for a signed reply address
TEXT_CHARS = 20_000  # the body text kept on the event
ATTACHMENTS_LISTED = 100  # attachments listed by name, type and size; the rest only counted
ATTACHMENT_NAME_CHARS = 200
CONTENT_TYPE_CHARS = 100
NOTES = 10  # parser notes (charset repairs, defects) kept
NOTE_CHARS = 200
HEADER_CHARS = 1_000  # each screening header kept (Auto-Submitted, Precedence ...)
# The standard parser spends 1-9 ms per part on its headers here: 500 parts stay within seconds.
MAX_PARTS = 500  # MIME parts in one message; beyond: quarantined "too complex"
MAX_MULTIPARTS = 50  # multipart containers (nesting) in one message; beyond: quarantined
HEADER_FIELD_BYTES = (
    16_384  # a top-level header field is cut there before parsing (a 540 KB subject took 4 s)
)
MAX_HEADER_FIELDS = 1_000  # top-level header fields; beyond: quarantined "too complex"


def clip(text: str | None, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut ('' for None)."""
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
