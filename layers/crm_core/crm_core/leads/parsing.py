"""Turn a posted body into flat fields: JSON, urlencoded and multipart/form-data, UTF-8 throughout.

The size is checked before anything is decoded or parsed. API Gateway may hand the body over
base64-encoded (it does for every non-text content type), so both forms are accepted.
"""

from __future__ import annotations

import binascii
import codecs
import json
from base64 import b64decode
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from urllib.parse import parse_qsl

from crm_core.errors import CrmError, FieldError, ValidationFailed
from crm_core.leads.fields import MAX_BODY_BYTES

Value = str | bool | None
ACCEPTED_TYPES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")


class PayloadTooLarge(CrmError):
    """The body is over MAX_BODY_BYTES (answered 413)."""


class UnsupportedMediaType(CrmError):
    """The content type is not one a lead may be posted in (answered 415)."""


def _bad(message: str, field: str = "body") -> ValidationFailed:
    return ValidationFailed([FieldError(field, message)])


def read_body(body: str | None, *, is_base64: bool) -> bytes:
    """The raw bytes of the body; raises PayloadTooLarge before decoding a body over the limit."""
    if not body:
        return b""
    # Base64 grows 4/3: a text longer than this cannot decode to MAX_BODY_BYTES or fewer.
    limit = (MAX_BODY_BYTES + 2) // 3 * 4 if is_base64 else MAX_BODY_BYTES
    if len(body) > limit:
        raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES // 1024} KiB")
    if is_base64:
        try:
            raw = b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise _bad("the body is not valid base64") from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES // 1024} KiB")
    return raw


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """('multipart/form-data', {'boundary': ...}) from a Content-Type header value."""
    message = EmailMessage()
    try:
        message["content-type"] = content_type or "application/octet-stream"
        params = {str(k).lower(): str(v) for k, v in message["content-type"].params.items()}
    except (ValueError, TypeError, IndexError, AttributeError):  # line breaks, odd bytes: not a media type
        raise UnsupportedMediaType(f"send one of {', '.join(ACCEPTED_TYPES)}") from None
    return message.get_content_type(), params


def parse_fields(raw: bytes, content_type: str | None) -> dict[str, Value]:
    """Flat field -> value mapping of the body; raises UnsupportedMediaType or ValidationFailed."""
    kind, params = media_type(content_type)
    if kind not in ACCEPTED_TYPES or not content_type:
        raise UnsupportedMediaType(f"send one of {', '.join(ACCEPTED_TYPES)} (got {kind})")
    if kind == "application/json":
        fields = _json(raw)
    elif kind == "multipart/form-data":
        fields = _multipart(raw, content_type or "")
    else:
        fields = _urlencoded(raw, params.get("charset", "utf-8"))
    return _valid_unicode(fields)


def _valid_unicode(fields: dict[str, Value]) -> dict[str, Value]:
    """The fields, if every name and value is valid Unicode; a lone surrogate (JSON's "\\ud800", or a
    form name the MIME parser kept as bytes) can be neither stored nor answered, so it is a 400."""
    for key, value in fields.items():
        for text in (key, value if isinstance(value, str) else ""):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise _bad("holds text that is not valid Unicode (a lone surrogate)") from None
    return fields


# Charsets a form may declare: what browsers send. Anything else (utf-7, cp037, idna, rot13 ...) is
# refused by name: Python's exotic codecs raise errors of their own, or decode into surprises.
_CHARSETS = frozenset({"utf-8", "ascii", "latin-1", "iso8859-1", "cp1252"})


def _text(raw: bytes, charset: str = "utf-8") -> str:
    try:
        codec = codecs.lookup(charset).name
    except (LookupError, ValueError, UnicodeError):
        codec = ""
    if codec not in _CHARSETS:
        raise UnsupportedMediaType(f"unsupported charset {charset[:40]!r}; send UTF-8") from None
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        raise _bad(f"the body is not valid {codec}") from None


def _json(raw: bytes) -> dict[str, Value]:
    try:
        document = json.loads(_text(raw.removeprefix(codecs.BOM_UTF8)) or "null")
    except json.JSONDecodeError as exc:
        raise _bad(
            f"the body is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise _bad("the body nests too deeply; send one JSON object of fields") from None
    except ValueError:  # an integer of thousands of digits (Python refuses to parse it): not a lead field
        raise _bad("the body holds a number too large to read") from None
    if not isinstance(document, dict):
        raise _bad("the body must be a JSON object of fields")
    fields: dict[str, Value] = {}
    errors: list[FieldError] = []
    for key, value in document.items():
        if value is None or isinstance(value, str | bool):
            fields[str(key)] = value
        elif isinstance(value, int | float):
            fields[str(key)] = str(value)
        else:
            errors.append(FieldError(str(key), "must be a single value, not a list or an object"))
    if errors:
        raise ValidationFailed(errors)
    return fields


def _urlencoded(raw: bytes, charset: str) -> dict[str, Value]:
    text = _text(raw, charset)
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict", max_num_fields=200)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad(f"the form body cannot be read: {exc}") from None
    return _last_non_empty(pairs)


def _last_non_empty(pairs: list[tuple[str, str]]) -> dict[str, Value]:
    """Repeated names: the last non-empty value wins (a hidden "off" before a checked box, say)."""
    fields: dict[str, Value] = {}
    for key, value in pairs:
        if value != "" or key not in fields:
            fields[key] = value
    return fields


def _header_text(value: str) -> str:
    # Browsers send UTF-8 field names raw in Content-Disposition; the parser keeps them as surrogates.
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError:
        return value


def _multipart(raw: bytes, content_type: str) -> dict[str, Value]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + raw)
    if not message.get_boundary():
        raise _bad("the multipart body has no boundary")
    if not message.is_multipart():
        return {}  # no parts at all: nothing was filled in (validation says what is missing)
    pairs: list[tuple[str, str]] = []
    errors: list[FieldError] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        name = _header_text(name)
        if part.get_filename() is not None:
            errors.append(FieldError(name, "files are not accepted"))
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        pairs.append((name, _text(data, part.get_content_charset() or "utf-8")))
    if errors:
        raise ValidationFailed(errors)
    return _last_non_empty(pairs)
