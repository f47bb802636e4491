"""The thank-you redirect of a plain form post: allowed origins only, never a control character or a raw
non-ASCII byte in `Location`, on every path (a real lead and the honeypot alike)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests.helpers import http_event, load_handler

FORM_HEADERS = {
    "content-type": "application/x-www-form-urlencoded",
    "accept": "text/html,application/xhtml+xml",
}
HONEYPOT = {"website": "http://spam.example"}
PATHS = {"lead": {}, "honeypot": HONEYPOT}


@pytest.fixture
def post(stack: Any, frozen_clock: Any, lambda_context: Any) -> Any:
    handler = load_handler("capture_lead")

    def send(fields: dict[str, str], **headers: str) -> dict[str, Any]:
        event = http_event("POST", "/leads", body=urlencode(fields), headers={**FORM_HEADERS, **headers})
        answer: dict[str, Any] = handler.lambda_handler(event, lambda_context)
        return answer

    return send


def header_values_are_plain_ascii(answer: dict[str, Any]) -> bool:
    values = [*answer.get("headers", {}).values(), *answer.get("multiValueHeaders", {}).values()]
    text = "".join(str(v) for v in values)
    return all(" " <= ch <= "~" for ch in text)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "target",
    [
        "http://localhost:3000/thanks\r\nSet-Cookie: a=b",
        "http://localhost:3000/thanks\nLocation: https://evil.example/",
        "http://localhost:3000/thanks\x00",
        "http://localhost:3000/thanks\u2028x",
        "/thanks\r\nX-Injected: 1",
    ],
)
def test_a_thank_you_url_with_control_characters_is_never_a_location(
    post: Any, path: str, target: str
) -> None:
    answer = post(
        {"email": "ana@example.com", "thank_you_url": target, **PATHS[path]}, origin="http://localhost:3000"
    )
    assert "Location" not in answer["headers"], answer["headers"]
    assert answer["statusCode"] in {200, 201, 400}
    assert header_values_are_plain_ascii(answer)


@pytest.mark.parametrize("path", PATHS)
def test_a_non_ascii_thank_you_url_is_percent_encoded(post: Any, path: str) -> None:
    fields = {"email": "ana@example.com", "thank_you_url": "http://localhost:3000/danke-schön?n=Zoë#oben ja"}
    answer = post({**fields, **PATHS[path]})
    assert answer["statusCode"] == 303
    assert answer["headers"]["Location"] == "http://localhost:3000/danke-sch%C3%B6n?n=Zo%C3%AB#oben%20ja"
    assert header_values_are_plain_ascii(answer)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/x",
        "//evil.example/x",
        "http://localhost:3000@evil.example/",
        "http://localhost:3000\\@evil.example/",
        "javascript:alert(1)",
        "http://LOCALHOST:3000.evil.example/",
    ],
)
def test_a_thank_you_url_off_the_allowed_origins_is_never_a_location(
    post: Any, path: str, target: str
) -> None:
    answer = post(
        {"email": "ana@example.com", "thank_you_url": target, **PATHS[path]}, origin="http://127.0.0.1:3000"
    )
    assert "Location" not in answer["headers"]


def test_a_relative_thank_you_url_with_a_non_ascii_origin_header_is_still_safe(post: Any) -> None:
    answer = post(
        {"email": "ana@example.com", "thank_you_url": "/grazie è"},
        origin="http://127.0.0.1:3000",
        referer="ü",
    )
    assert (answer["statusCode"], answer["headers"]["Location"]) == (
        303,
        "http://127.0.0.1:3000/grazie%20%C3%A8",
    )
