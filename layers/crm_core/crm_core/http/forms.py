"""A posted HTML form's body as text, whatever bytes a client sends."""

from __future__ import annotations

import base64
import binascii


def form_text(body: str | None, is_base64: bool, limit: int) -> str:
    """The posted form as text, at most `limit` bytes of it. Bytes that are not UTF-8 (or a body that is
    not base64 when it says so) become U+FFFD: the values are then refused by the route's own checks,
    with its 400 page, instead of failing the function."""
    if is_base64:
        try:
            data = base64.b64decode(body or "", validate=False)
        except (binascii.Error, ValueError):
            data = b""
    else:
        data = (body or "").encode("utf-8", "replace")
    return data[:limit].decode("utf-8", "replace")
