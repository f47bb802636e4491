"""HMAC-signed tokens (unsubscribe links) and short MACs (signed reply addresses).

The key is a Secrets Manager secret the template generates at deploy time (the local stack and the
tests create it in moto from the same template); it is read once and kept for five minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from typing import Any

from crm_core import aws
from crm_core.errors import InvalidToken
from crm_core.settings import get_settings

_KEY_TTL_SECONDS = 300
_cache: dict[str, tuple[float, bytes]] = {}
_lock = threading.Lock()


def _key() -> bytes:
    secret_id = get_settings().signing_key_secret
    with _lock:
        cached = _cache.get(secret_id)
        if cached and time.monotonic() - cached[0] < _KEY_TTL_SECONDS:
            return cached[1]
        value: str = aws.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
        key = value.encode("utf-8")
        _cache[secret_id] = (time.monotonic(), key)
        return key


def forget_key() -> None:
    """Drop the cached key (tests, rotation)."""
    with _lock:
        _cache.clear()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _digest(purpose: str, text: str) -> bytes:
    return hmac.new(_key(), f"{purpose}\x00{text}".encode(), hashlib.sha256).digest()


def sign(payload: dict[str, Any], purpose: str) -> str:
    """A URL-safe token carrying `payload`, valid only for `purpose`."""
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{body}.{_b64(_digest(purpose, body)[:16])}"


def verify(token: str, purpose: str) -> dict[str, Any]:
    """The payload of a token signed for `purpose`; raises InvalidToken if forged, altered or malformed."""
    body, _, signature = (token or "").strip().partition(".")
    if not body or not signature:
        raise InvalidToken("malformed token")
    try:
        expected = _b64(_digest(purpose, body)[:16])
        if not hmac.compare_digest(expected, signature):
            raise InvalidToken("bad signature")
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("malformed token") from exc
    if not isinstance(payload, dict):
        raise InvalidToken("malformed token")
    return payload


def mac(text: str, purpose: str, length: int = 10) -> str:
    """A short lower-case MAC of `text` (safe in an email local part, which may lose its case)."""
    return base64.b32encode(_digest(purpose, text)).decode("ascii").lower()[:length]


def check_mac(text: str, purpose: str, candidate: str) -> bool:
    """True if `candidate` is the MAC of `text` for `purpose` (constant-time, case-insensitive)."""
    candidate = (candidate or "").lower()
    return (
        bool(candidate)
        and hmac.compare_digest(mac(text, purpose, len(candidate)), candidate)
        and len(candidate) >= 8
    )
