"""POST /leads over HTTP: content negotiation, the answers (JSON or small HTML pages) and their docs.

A JavaScript client or a server gets JSON. A browser that posted a plain HTML form (it asks for
text/html) gets a 303 to the form's thank-you URL when that URL's origin is allowed
(ALLOWED_ORIGINS), else a built-in thank-you page; and on errors a small page naming them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from crm_core import clock
from crm_core.errors import CrmError, FieldError, ValidationFailed
from crm_core.http import page
from crm_core.http.answer import HttpAnswer
from crm_core.http.errors import errors_schema, problem
from crm_core.http.redirects import safe_redirect
from crm_core.leads import visitor
from crm_core.leads.fields import BY_NAME, MAX_BODY_BYTES, canonical, json_schema
from crm_core.leads.merge import Outcome
from crm_core.leads.parsing import (
    ACCEPTED_TYPES,
    PayloadTooLarge,
    UnsupportedMediaType,
    parse_fields,
    read_body,
)
from crm_core.leads.service import capture
from crm_core.leads.validation import Submission, read_submission
from crm_core.messaging.templates import brand
from crm_core.models.contacts import contact_id_for
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings

_NO_STORE = {"Cache-Control": "no-store"}
_PAGE_HEADERS = {
    **_NO_STORE,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True, slots=True)
class Request:
    """What the answer depends on: the body as API Gateway delivers it and the (lower-case) headers."""

    body: str | None
    is_base64: bool
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """The request header `name` (any case), None when it is absent or empty."""
        return self.headers.get(name.lower()) or None


def post_lead(request: Request) -> HttpAnswer:
    """Record or merge the posted lead and answer it.

    Raises PayloadTooLarge, UnsupportedMediaType, ValidationFailed and RetryableError: the entry
    point turns them into answers with `error_answer`.
    """
    raw = read_body(request.body, is_base64=request.is_base64)
    posted = parse_fields(raw, request.header("content-type"))
    submission = read_submission(
        posted,
        now=clock.now(),
        referer=request.header("referer"),
        idempotency_key=request.header("idempotency-key"),
    )
    log = get_logger()
    if submission.lead is None:  # the honeypot was filled: look like a success, store nothing
        count("LeadsHoneypot")
        log.info("honeypot filled; nothing stored")
        return _success(request, submission, contact_id_for(submission.email_hint), Outcome.CREATED)
    captured = capture(submission.lead, submission_id=submission.submission_id)
    count("LeadsReplayed" if captured.replayed else f"Leads{captured.outcome.value.title()}")
    if captured.custom_left_out:
        count("LeadsCustomLeftOut", len(captured.custom_left_out))
    if captured.kept:
        count("LeadsFieldsKept", len(captured.kept))
    log.info(
        "lead recorded",
        extra={
            "contact_id": captured.contact_id,
            "outcome": captured.outcome.value,
            "replayed": captured.replayed,
            "form_id": submission.lead.form_id,
            # names only: which fields a more trusted source keeps, and the consent mail's outcome
            "fields_kept": captured.kept,
            "consent_confirmation": captured.confirmation,
        },
    )
    return _success(request, submission, captured.contact_id, captured.outcome)


LOGGABLE_FIELDS = frozenset({*BY_NAME, "", "body", "custom", "Idempotency-Key"})


def error_answer(exc: CrmError, request: Request) -> HttpAnswer:
    """The answer to a failed post: 400, 413, 415 or 503 (JSON, or a page for a plain form post)."""
    status, errors, headers = _classify(exc)
    count("LeadsThrottled" if status == 503 else "LeadsRejected")
    # Only names we defined reach the log: a posted key is data (it could be an address or a phone).
    fields = sorted({e.field if e.field in LOGGABLE_FIELDS else "(custom)" for e in errors})
    get_logger().info("lead refused", extra={"status": status, "fields": fields})
    locale = visitor.page_locale(_posted_locale(request), request.header("accept-language"))
    if _wants_html(request):
        return _page(status, _error_page(status, errors, _back_link(request), locale), headers)
    # `field` and `message` for programs; `text` for the person who filled in the form, in its language
    body = {
        "errors": [
            {"field": e.field, "message": e.message, "text": _visitor_text(status, e, locale)} for e in errors
        ]
    }
    return HttpAnswer(status, json.dumps(body, ensure_ascii=False), headers={**_NO_STORE, **headers})


def _posted_locale(request: Request) -> str | None:
    """The language the refused post asked for (its `locale`/`lang` field), if it can be read at all."""
    try:
        posted = parse_fields(
            read_body(request.body, is_base64=request.is_base64), request.header("content-type")
        )
    except CrmError:
        return None
    for key, value in posted.items():
        if canonical(key) == "locale" and isinstance(value, str) and value.strip():
            return value.strip()[:35]
    return None


def _visitor_text(status: int, error: FieldError, locale: str) -> str:
    """The problem as a visitor reads it: the field's own wording, or the whole post's (413, 415, 503)."""
    whole = {413: "too_large", 415: "unreadable"}.get(status) or ("busy" if status >= 500 else None)
    return str(visitor.words(locale)[whole]) if whole else visitor.text(error, locale)


def _classify(exc: CrmError) -> tuple[int, list[FieldError], dict[str, str]]:
    if isinstance(exc, ValidationFailed):
        return 400, exc.errors, {}
    if isinstance(exc, PayloadTooLarge):
        return 413, [FieldError("body", f"is over {MAX_BODY_BYTES // 1024} KiB")], {}
    if isinstance(exc, UnsupportedMediaType):
        return 415, [FieldError("body", str(exc))], {"Accept-Post": ", ".join(ACCEPTED_TYPES)}
    busy = "we could not record your details just now; nothing was lost, please send again"
    found = problem(exc, conflict_field="Idempotency-Key", busy=busy)  # the project's one mapping
    return found.status, found.errors, found.headers


def _wants_html(request: Request) -> bool:
    accept = (request.header("accept") or "").lower()
    return "text/html" in accept and "application/json" not in accept


def _allowed(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() in {o.lower() for o in get_settings().allowed_origins}


def _success(request: Request, submission: Submission, contact_id: str, outcome: Outcome) -> HttpAnswer:
    status = 201 if outcome is Outcome.CREATED else 200
    if not _wants_html(request):
        return HttpAnswer(status, json.dumps({"contact_id": contact_id}), headers=dict(_NO_STORE))
    target = _thank_you_target(request, submission.thank_you_url)
    if target:
        return HttpAnswer(303, "", "text/plain", {**_NO_STORE, "Location": target})
    name = submission.lead.first_name if submission.lead else None
    posted_locale = submission.lead.locale if submission.lead else None
    locale = visitor.page_locale(posted_locale, request.header("accept-language"))
    return _page(status, _thank_you_page(name, _back_link(request), locale))


def _thank_you_target(request: Request, posted: str | None) -> str | None:
    """The thank-you URL, resolved against the posting page and percent-encoded; None unless its origin
    is allowed (crm_core.http.redirects)."""
    base = request.header("origin") or request.header("referer")
    return safe_redirect(posted, base, get_settings().allowed_origins)


def _back_link(request: Request) -> str | None:
    referer = request.header("referer")
    return referer if _allowed(referer) else None


def _page(status: int, html: str, headers: Mapping[str, str] | None = None) -> HttpAnswer:
    return HttpAnswer(status, html, "text/html; charset=utf-8", {**_PAGE_HEADERS, **(headers or {})})


def _thank_you_page(first_name: str | None, back: str | None, locale: str) -> str:
    said = visitor.words(locale)
    title = str(said["thanks_named"]).format(name=first_name) if first_name else str(said["thanks_title"])
    home = back or brand().get("website")
    return page.render(locale, title, [str(said["thanks_body"])], link=_link(home, str(said["back_to_site"])))


def _error_page(status: int, errors: list[FieldError], back: str | None, locale: str) -> str:
    said = visitor.words(locale)
    title = str(said.get(f"title_{status}") or said["title_other"])
    items = list(dict.fromkeys(_visitor_text(status, e, locale) for e in errors))  # one line per problem
    if back:
        return page.render(locale, title, items=items, alert=True, link=(back, str(said["back_to_form"])))
    # An untrusted or missing Referer: the browser's Back button keeps what was typed; the site is a link
    link = _link(brand().get("website"), str(said["back_to_site"]))
    return page.render(locale, title, items=items, alert=True, note=str(said["back_hint"]), link=link)


def _link(href: str | None, text: str) -> tuple[str, str] | None:
    return (href, text) if href else None


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


_ERRORS_SCHEMA = errors_schema(
    text={
        "type": "string",
        "description": "The problem worded for the person who filled in the form, in the "
        "form's language (its `locale` field, else Accept-Language).",
    }
)
_CONTACT_SCHEMA = {
    "type": "object",
    "required": ["contact_id"],
    "properties": {"contact_id": {"type": "string"}},
}
_HTML = {"text/html": {"schema": {"type": "string"}}}

OPENAPI_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The lead's fields, in any of the three content types "
        f"(at most {MAX_BODY_BYTES // 1024} KiB; UTF-8). Send `Accept: text/html` (as a browser does) "
        "for redirects and pages instead of JSON. "
        "An optional `Idempotency-Key` header names the submission; without it the same fields posted "
        "twice are the same submission.",
        "content": {media: {"schema": json_schema()} for media in ACCEPTED_TYPES},
    }
}

OPENAPI_RESPONSES: dict[int, Any] = {
    201: {
        "description": "A new contact was recorded (and enrolled in the welcome series).",
        "content": {**_json_content(_CONTACT_SCHEMA), **_HTML},
    },
    200: {
        "description": "Merged into an existing contact.",
        "content": {**_json_content(_CONTACT_SCHEMA), **_HTML},
    },
    303: {"description": "Plain HTML form post: go to the form's thank-you URL (allowed origins only)."},
    400: {
        "description": "Invalid fields, each named.",
        "content": {**_json_content(_ERRORS_SCHEMA), **_HTML},
    },
    413: {
        "description": f"The body is over {MAX_BODY_BYTES // 1024} KiB.",
        "content": _json_content(_ERRORS_SCHEMA),
    },
    415: {
        "description": "Not JSON, urlencoded or multipart/form-data.",
        "content": _json_content(_ERRORS_SCHEMA),
    },
    503: {
        "description": "DynamoDB is throttling: nothing was stored; retry after `Retry-After` seconds.",
        "content": _json_content(_ERRORS_SCHEMA),
    },
}
