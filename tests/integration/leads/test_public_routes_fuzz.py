"""Errors, not crashes: every public route answers malformed input with a 4xx and a message, never a 500.

Property-based: hypothesis drives the real handlers with API Gateway v2 events. The default profile
keeps `make test` fast; `make fuzz` runs the `fuzz` profile (CRM_HYPOTHESIS_PROFILE=fuzz).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import http_event, load_handler

settings.register_profile(  # derandomized: `make test` is repeatable; `make fuzz` explores anew
    "default-crm",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "fuzz", max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PROFILE = os.environ.get("CRM_HYPOTHESIS_PROFILE", "default-crm")

CHARSETS = [
    "utf-8",
    "utf-7",
    "cp037",
    "idna",
    "utf-16",
    "punycode",
    "rot13",
    "hex",
    "base64",
    "zlib",
    "bogus",
    "ü",
]
CONTENT_TYPES = st.one_of(
    st.sampled_from(["application/json", "multipart/form-data", "text/plain", ""]),
    st.builds(lambda c: f"application/x-www-form-urlencoded; charset={c}", st.sampled_from(CHARSETS)),
    st.builds(lambda b: f"multipart/form-data; boundary={b}", st.text(max_size=20)),
    st.text(max_size=40),
)
JSONISH = st.one_of(
    st.just('{"email": "ana@example.com", "first_name": "\\ud800"}'),
    st.just("[" * 5000 + "]" * 5000),
    st.just('{"email": "ana@example.com", "n": 1' + "0" * 5000 + "}"),
    st.just('{"email": 1e999999}'),
    st.builds(json.dumps, st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=5)),
)
BODIES = st.one_of(st.binary(max_size=400), st.text(max_size=400), JSONISH)
HEADER_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)


def _shape_ok(answer: dict[str, Any]) -> bool:
    if answer["statusCode"] >= 500:
        return False
    if answer["statusCode"] >= 400 and answer.get("headers", {}).get("Content-Type", "").startswith(
        "application/json"
    ):
        body = json.loads(answer["body"])
        return all(isinstance(e.get("message"), str) and e["message"] for e in body["errors"])
    return True


@pytest.fixture(scope="module")
def handlers() -> dict[str, Any]:
    return {"lead": load_handler("capture_lead"), "pages": load_handler("unsubscribe")}


@settings(settings.get_profile(PROFILE))
@given(body=BODIES, content_type=CONTENT_TYPES, key=HEADER_TEXT, accept=st.sampled_from(["text/html", "*/*"]))
def test_post_leads_never_answers_500(
    handlers: dict[str, Any],
    stack: Any,
    lambda_context: Any,
    *,
    body: Any,
    content_type: str,
    key: str,
    accept: str,
) -> None:
    headers = {"content-type": content_type, "idempotency-key": key, "accept": accept}
    event = http_event(
        "POST", "/leads", body=body, headers=headers, base64_body=isinstance(body, bytes) or None
    )
    answer = handlers["lead"].lambda_handler(event, lambda_context)
    assert _shape_ok(answer), answer


@settings(settings.get_profile(PROFILE))
@given(
    method=st.sampled_from(["GET", "POST"]),
    path=st.sampled_from(["/unsubscribe", "/consent"]),
    token=st.one_of(
        st.text(max_size=200), st.from_regex(r"[0-9a-f]{8}\.[A-Za-z0-9_-]{0,80}\.[A-Za-z0-9_-]{0,30}")
    ),
    language=HEADER_TEXT,
)
def test_signed_link_pages_never_answer_500(
    handlers: dict[str, Any],
    stack: Any,
    lambda_context: Any,
    *,
    method: str,
    path: str,
    token: str,
    language: str,
) -> None:
    event = http_event(method, path, query={"token": token}, headers={"accept-language": language})
    answer = handlers["pages"].lambda_handler(event, lambda_context)
    assert answer["statusCode"] in {200, 400}, answer
