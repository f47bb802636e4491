"""Redirect targets that are safe to put in a `Location` header.

A target is accepted only when it resolves to one of the allowed origins, over http(s), without any
control or line-separator character; it is then rebuilt from the allowed origin's own spelling with
its path, query and fragment percent-encoded, so the header holds printable ASCII only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import SplitResult, quote, urljoin, urlsplit

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
    if target is None or not _is_plain_target(target):
        return None
    parts = _resolved(target, _trusted_base(base))
    if parts is None or not _is_http_with_host(parts) or _carries_credentials(parts):
        return None
    origin = _allowed_origin(parts, allowed_origins)
    if origin is None:
        return None
    return _rebuilt(origin, parts)


def _is_plain_target(target: str) -> bool:
    """Not empty, not too long, and no control or line-separator character."""
    return bool(target) and len(target) <= MAX_TARGET and not _FORBIDDEN.search(target)


def _trusted_base(base: str | None) -> str | None:
    """`base` when it may anchor a relative target: not "null" (an opaque origin), printable ASCII."""
    if not base or base == "null" or _FORBIDDEN.search(base) or not base.isascii():
        return None
    return base


def _resolved(target: str, base: str | None) -> SplitResult | None:
    """The target resolved against `base`; None when it does not parse (a port that is not a number
    in range included)."""
    try:
        parts = urlsplit(urljoin(base, target) if base else target)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return None
    return parts


def _is_http_with_host(parts: SplitResult) -> bool:
    """An http or https URL naming a host."""
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def _carries_credentials(parts: SplitResult) -> bool:
    """A user name or password before the host (`https://our.site@evil.example/`)."""
    return bool(parts.username or parts.password)


def _allowed_origin(parts: SplitResult, allowed_origins: Iterable[str]) -> str | None:
    """The allowed origin's own spelling when the target lands on it; None otherwise, or when its
    authority holds a backslash (which browsers read as a slash)."""
    allowed = {_origin(*urlsplit(o.strip())[:2]): o.strip().rstrip("/") for o in allowed_origins if o.strip()}
    origin = allowed.get(_origin(parts.scheme, parts.netloc))
    if origin is None or "\\" in parts.netloc:
        return None
    return origin


def _rebuilt(origin: str, parts: SplitResult) -> str:
    """The target on `origin`, its path, query and fragment percent-encoded."""
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    query = f"?{quote(parts.query, safe=_QUERY_SAFE)}" if parts.query else ""
    fragment = f"#{quote(parts.fragment, safe=_QUERY_SAFE)}" if parts.fragment else ""
    return f"{origin}{path}{query}{fragment}"
