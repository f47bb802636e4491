"""Every operation of the generated OpenAPI document, driven over HTTP against the local stack with
hostile path parameters, query strings, headers and bodies: never a 500, and every JSON error has the
one body shape. (Hypothesis generates the requests; `make fuzz` runs the long profile.)"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.local.client import LocalClient
from infra.local.stack import LocalStack
from infra.template import Template

EXAMPLES = 400 if os.environ.get("CRM_HYPOTHESIS_PROFILE") == "fuzz" else 12
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)
# What an HTTP client can put in a header at all (no control characters: clients and API Gateway refuse them).
HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=80
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
BODIES = st.one_of(
    st.none(),
    st.binary(max_size=300),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(
        st.sampled_from(["points", "order_id", "text", "status", "email", "agent", "consent"]),
        JSON_VALUES,
        max_size=4,
    ).map(lambda v: json.dumps(v).encode()),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain",
        "",
    ]
)


@pytest.fixture(scope="module")
def local() -> Iterator[LocalClient]:
    with LocalStack(Template(), port=0, log_requests=False, log=lambda _: None) as stack:
        yield LocalClient(stack.url)
        assert not stack.deployment.denials, stack.deployment.denials


def operations(local: LocalClient) -> list[tuple[str, str]]:
    document = local.get("/openapi.json").json()
    return [(method.upper(), path) for path, ops in document["paths"].items() for method in ops]


def _fill(path: str, value: str) -> str:
    out, rest = "", path
    while "{" in rest:
        head, _, tail = rest.partition("{")
        _, _, rest = tail.partition("}")
        out += head + quote(value, safe="")
    return out + rest


def _shape_ok(status: int, content_type: str, text: str) -> bool:
    if status < 400 or "json" not in content_type:
        return True
    body: Any = json.loads(text)
    errors = body.get("errors") if isinstance(body, dict) else None
    return (
        bool(errors)
        and all(isinstance(e, dict) and isinstance(e.get("message"), str) and e["message"] for e in errors)
        or body == {"message": "Not Found"}  # API Gateway's own answer for an unknown path
    )


def test_every_operation_answers_hostile_requests_without_a_500(local: LocalClient) -> None:
    ops = operations(local)
    assert len(ops) >= 10, ops

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=EXAMPLES < 100,  # `make test` is repeatable; `make fuzz` explores anew
        suppress_health_check=list(HealthCheck),
    )
    @given(
        op=st.sampled_from(ops),
        param=TEXT,
        query=st.dictionaries(
            st.sampled_from(["token", "status", "limit", "cursor", "overdue"]), TEXT, max_size=3
        ),
        body=BODIES,
        content_type=CONTENT_TYPES,
        key=HEADER_TEXT,
    )
    def hostile(  # noqa: PLR0917 - hypothesis passes each strategy by name
        op: tuple[str, str],
        param: str,
        query: dict[str, str],
        body: bytes | None,
        content_type: str,
        key: str,
    ) -> None:
        method, path = op
        headers = {"content-type": content_type, "idempotency-key": key}
        answer = local.request(method, _fill(path, param or "x"), params=query, data=body, headers=headers)
        assert answer.status < 500, (method, path, answer.status, answer.text[:300])
        assert _shape_ok(answer.status, answer.headers.get("content-type", ""), answer.text), answer.text[
            :300
        ]

    hostile()
