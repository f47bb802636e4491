"""Untrusted text on an operator's terminal: control characters are shown, never obeyed.

A subject, a name or an email body is written by whoever sent it; printed as it is, ESC sequences
recolour or clear the screen, OSC 8 hides a link behind innocent text, OSC 52 writes the clipboard,
a carriage return overwrites what the line said and bidi overrides reorder it. Every CLI output of
data goes through `safe` (one field) or `echo` (a whole block the command laid out itself).
"""

from __future__ import annotations

import json
import sys
import unicodedata
from typing import TextIO

# Bidi embeddings, overrides and isolates, and the Unicode line and paragraph separators.
_INVISIBLE_CONTROLS = frozenset(
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029\u061c"
)


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object, *, keep: str = "") -> str:
    """`text` with every control character (C0, DEL, C1, bidi controls, line separators) written
    as a visible escape (ESC -> \\x1b), except those in `keep`."""
    value = str(text)
    return "".join(
        _escaped(c) if c not in keep and (unicodedata.category(c) == "Cc" or c in _INVISIBLE_CONTROLS) else c
        for c in value
    )


def echo(text: object = "", *, file: TextIO | None = None, flush: bool = False) -> None:
    """Print a block of output with its data's control characters escaped (its own newlines and
    tabs kept: a field that must not add lines goes through `safe` first)."""
    print(safe(text, keep="\n\t"), file=file or sys.stdout, flush=flush)  # the CLI's one print


def echo_json(data: object, *, indent: int | None = 2) -> None:
    """Print `data` as JSON, readable (non-ASCII letters kept) yet with every control character a
    JSON escape (\\u001b, \\u009b, \\u202e ...), so the output is still valid JSON."""
    text = json.dumps(data, indent=indent, ensure_ascii=False, default=str)
    echo(
        "".join(f"\\u{ord(c):04x}" if c in _INVISIBLE_CONTROLS or 0x7F <= ord(c) <= 0x9F else c for c in text)
    )
