"""Redirect targets that are safe to put in a `Location` header.

A target is accepted only when it resolves to one of the allowed origins, over http(s), without any
control or line-separator character; it is then rebuilt from the allowed origin's own spelling with
its path, query and fragment percent-encoded, so the header holds printable ASCII only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urljoin, urlsplit

MAX_TARGET = 2048
# C0, DEL, C1, and the Unicode line and paragraph separators: none may reach a header, even encoded
# (urlsplit silently drops tab/CR/LF, so a target carrying them is refused rather than "cleaned").
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Characters kept as they are: RFC 3986 reserved and unreserved ones, and "%" (already encoded).
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"


def _origin(scheme: str, netloc: str) -> str:
    return f"{scheme}://{netloc}".lower()


def safe_redirect(target: str | None, base: str | None, allowed_origins: Iterable[str]) -> str | None:
    """The percent-encoded absolute URL to redirect to, or None when `target` may not be one.

    `target` may be relative; it is resolved against `base` (the posting page's Origin or Referer),
    which is only trusted as far as the result lands on an allowed origin. Raises nothing.
    """
    if not target or len(target) > MAX_TARGET or _FORBIDDEN.search(target):
        return None
    if base and (base == "null" or _FORBIDDEN.search(base) or not base.isascii()):
        base = None
    try:
        parts = urlsplit(urljoin(base, target) if base else target)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.username or parts.password:
        return None
    del port
    allowed = {_origin(*urlsplit(o.strip())[:2]): o.strip().rstrip("/") for o in allowed_origins if o.strip()}
    origin = allowed.get(_origin(parts.scheme, parts.netloc))
    if origin is None or "\\" in parts.netloc:
        return None
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    query = f"?{quote(parts.query, safe=_QUERY_SAFE)}" if parts.query else ""
    fragment = f"#{quote(parts.fragment, safe=_QUERY_SAFE)}" if parts.fragment else ""
    return f"{origin}{path}{query}{fragment}"
