"""What the OpenAPI document says of the data-rights routes (functions/serve_privacy)."""

from __future__ import annotations

from typing import Any

TAGS = ["Data rights"]
_ASKED: dict[int, Any] = {
    202: {
        "description": "Recorded (or recorded before) and queued: the request's status, `Location` its URL"
    },
    400: {"description": "A bad contact id or Idempotency-Key, named in `errors[].field`"},
    404: {"description": "No contact with this id (and no earlier request of this kind)"},
}
EXPORT: dict[str, Any] = {
    "summary": "Export everything stored about a person (GDPR Art. 15 and 20)",
    "description": "One ZIP (data.json and the raw emails they sent), linked from the status once done. "
    "Header Idempotency-Key: one export per key (default: one per person and UTC day).",
    "responses": _ASKED,
    "tags": TAGS,
}
ERASURE: dict[str, Any] = {
    "summary": "Erase a person from every table, index and bucket (GDPR Art. 17)",
    "description": "Asynchronous and resumable; what other laws require is kept, pseudonymised.",
    "responses": _ASKED,
    "tags": TAGS,
}
STATUS: dict[str, Any] = {
    "summary": "Status of an export or erasure; a finished export has a pre-signed download link",
    "responses": {200: {"description": "The request's status"}, 404: {"description": "Unknown or expired"}},
    "tags": TAGS,
}
