"""HMAC-signed tokens (unsubscribe links) and short MACs (signed reply addresses), with key rotation.

The key is a Secrets Manager secret the template generates at deploy time (the local stack and the
tests create it in moto from the same template). Rotation follows Secrets Manager's staging labels:
`put-secret-value` makes the new value `AWSCURRENT` and the old one `AWSPREVIOUS`. Everything is
signed with the current key; tokens and MACs made with the previous key still check, so links
already sent keep working until the key is rotated a second time.

Token format: `<kid>.<body>.<signature>`, three dot-separated parts. `kid` is the first 8 hex
characters of the SHA-256 of the key (`printf %s "$KEY" | sha256sum | cut -c1-8`), so it needs no
storage; `body` is the base64url JSON payload; `signature` the base64url first 16 bytes of
HMAC-SHA256(key, purpose NUL kid "." body). Tokens signed before key ids existed have two parts,
`<body>.<signature>` (HMAC over purpose NUL body); base64url has no ".", so the two cannot be
confused. They still verify, with the current or the previous key.

The current key is read once and kept for five minutes; the previous one is read only when a token
or MAC does not match the current key, and kept (or its absence) until the current one expires.
Errors reading the secret (other than a missing AWSPREVIOUS) pass through as botocore's ClientError.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from crm_core import aws
from crm_core.errors import InvalidToken
from crm_core.settings import get_settings

_KEY_TTL_SECONDS = 300
_KID_LENGTH = 8
_SIGNATURE_BYTES = 16
_MIN_MAC_LENGTH = 8


@dataclass(frozen=True, slots=True)
class _Key:
    secret: bytes
    kid: str


@dataclass(slots=True)
class _Keys:
    """The keys of one secret as last read: current always, previous once it was needed."""

    fetched_at: float
    current: _Key
    previous: _Key | None = None
    previous_fetched: bool = False


_cache: dict[str, _Keys] = {}
_lock = threading.Lock()


def key_id(secret: bytes) -> str:
    """The key id tokens signed with `secret` carry: 8 hex characters of its SHA-256."""
    return hashlib.sha256(secret).hexdigest()[:_KID_LENGTH]


def _as_key(value: str) -> _Key:
    secret = value.encode("utf-8")
    return _Key(secret, key_id(secret))


def _entry() -> tuple[str, _Keys]:
    """The cached keys of the configured secret, reading AWSCURRENT when missing or stale (hold _lock)."""
    secret_id = get_settings().signing_key_secret
    cached = _cache.get(secret_id)
    if cached is None or time.monotonic() - cached.fetched_at >= _KEY_TTL_SECONDS:
        value: str = aws.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
        cached = _cache[secret_id] = _Keys(time.monotonic(), _as_key(value))
    return secret_id, cached


def _current() -> _Key:
    with _lock:
        return _entry()[1].current


def _previous() -> _Key | None:
    """The AWSPREVIOUS key, or None when the secret was never rotated."""
    with _lock:
        secret_id, keys = _entry()
        if not keys.previous_fetched:
            client = aws.client("secretsmanager")
            try:
                value: str = client.get_secret_value(SecretId=secret_id, VersionStage="AWSPREVIOUS")[
                    "SecretString"
                ]
            except client.exceptions.ResourceNotFoundException:
                keys.previous = None  # a secret that was never rotated has no AWSPREVIOUS version
            else:
                keys.previous = _as_key(value)
            keys.previous_fetched = True
        return keys.previous


def _keys() -> Iterator[_Key]:
    """The current key, then the previous one (read only if the caller asks for it)."""
    yield _current()
    previous = _previous()
    if previous is not None:
        yield previous


def forget_key() -> None:
    """Drop the cached keys (tests, and to pick up a rotation before the cache expires)."""
    with _lock:
        _cache.clear()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _digest(key: _Key, purpose: str, text: str) -> bytes:
    return hmac.new(key.secret, f"{purpose}\x00{text}".encode(), hashlib.sha256).digest()


def _signature(key: _Key, purpose: str, signed: str) -> bytes:
    return _b64(_digest(key, purpose, signed)[:_SIGNATURE_BYTES]).encode("ascii")


def sign(payload: dict[str, Any], purpose: str) -> str:
    """A URL-safe token carrying `payload`, valid only for `purpose`, signed with the current key."""
    key = _current()
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    signed = f"{key.kid}.{body}"
    return f"{signed}.{_signature(key, purpose, signed).decode('ascii')}"


def _signed_by(keys: Iterator[_Key], kid: str) -> _Key:
    """The key among current and previous whose id is `kid`; raises InvalidToken if neither."""
    for key in keys:
        if key.kid == kid:  # key ids are public: no need for a constant-time compare
            return key
    raise InvalidToken("unknown key id")


def verify(token: str, purpose: str) -> dict[str, Any]:
    """The payload of a token signed for `purpose` with the current or the previous key.

    Raises InvalidToken if the token is forged, altered, malformed, or names a key that is neither.
    """
    parts = (token or "").strip().split(".")
    if not all(parts) or len(parts) not in {2, 3}:
        raise InvalidToken("malformed token")
    # bytes, so a non-ASCII signature is a mismatch rather than compare_digest's TypeError
    signature = parts[-1].encode("utf-8")
    if len(parts) == 3:
        kid, body = parts[0], parts[1]
        key = _signed_by(_keys(), kid)
        valid = hmac.compare_digest(_signature(key, purpose, f"{kid}.{body}"), signature)
    else:  # signed before tokens carried a key id: either key may have made it
        body = parts[0]
        valid = any(hmac.compare_digest(_signature(key, purpose, body), signature) for key in _keys())
    if not valid:
        raise InvalidToken("bad signature")
    try:
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("malformed token") from exc
    if not isinstance(payload, dict):
        raise InvalidToken("malformed token")
    return payload


def _mac(key: _Key, text: str, purpose: str, length: int) -> str:
    return base64.b32encode(_digest(key, purpose, text)).decode("ascii").lower()[:length]


def mac(text: str, purpose: str, length: int = 10) -> str:
    """A short lower-case MAC of `text` with the current key (safe in an email local part, which may
    lose its case)."""
    return _mac(_current(), text, purpose, length)


def check_mac(text: str, purpose: str, candidate: str) -> bool:
    """True if `candidate` (8 characters or more) is the MAC of `text` for `purpose` by the current or
    the previous key (constant-time, case-insensitive)."""
    code = (candidate or "").lower().encode("utf-8")
    if len(code) < _MIN_MAC_LENGTH:
        return False
    return any(
        hmac.compare_digest(_mac(key, text, purpose, len(code)).encode("ascii"), code) for key in _keys()
    )


def keyed_hashes(text: str, purpose: str, length: int = 32) -> list[str]:
    """Keyed hashes of `text` for `purpose`: with the current key first, then the previous one if the
    secret was rotated. A value stored under the first can be found again after one rotation."""
    return [_mac(key, text, purpose, length) for key in _keys()]
