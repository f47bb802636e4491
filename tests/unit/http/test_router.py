"""crm_core.http.router: the HTTP functions' router answers API Gateway HTTP API events as Powertools'
APIGatewayHttpResolver did (the last tests replay the same app through both and compare every answer),
and importing it costs no Powertools module."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from crm_core.http.router import HttpRouter, Response, RouteNotFound


def event(  # noqa: PLR0917 - an event's fields
    method: str,
    path: str,
    body: str | None = None,
    b64: bool = False,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    stage: str = "$default",
    cookies: list[str] | None = None,
) -> dict[str, Any]:
    built: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"Content-Type": "application/json"} if headers is None else headers,
        "requestContext": {"http": {"method": method, "path": path}, "stage": stage},
        "body": body,
        "isBase64Encoded": b64,
    }
    if query is not None:
        built["queryStringParameters"] = query
    if cookies is not None:
        built["cookies"] = cookies
    return built


@dataclass
class Amount:
    value: Decimal
    currency: str


def build(app: Any, response: Any, *, catch_all: bool = False) -> Any:  # noqa: C901 - every kind of route
    """The same routes on our router or on Powertools' resolver (`response` is the matching class)."""

    @app.get("/cases/<case_id>")
    def get_case(case_id: str) -> dict[str, Any]:
        return {"case_id": case_id, "amount": Decimal("1.50"), "nan": Decimal("NaN"), "città": "Bolzano"}

    @app.get("/cases")
    def list_cases() -> list[Any]:
        return [1, {"query": app.current_event.query_string_parameters}]

    @app.get("/cases/fetch")
    def fetch() -> dict[str, Any]:
        return {"static": True}

    @app.post("/cases/<case_id>/status")
    def change_status(case_id: str) -> tuple[dict[str, Any], int]:
        event = app.current_event
        return {"body": event.json_body, "key": event.headers.get("Idempotency-Key"), "id": case_id}, 202

    @app.get("/amount")
    def amount() -> Amount:
        return Amount(Decimal("9.90"), "EUR")

    @app.get("/page")
    def page() -> Any:
        return response(
            201,
            "text/html",
            b"<p>ok</p>",
            headers={"Vary": ["Accept", "Accept-Language"], "X-None": None},
            cookies=["seen=1; Path=/", "lang=it"],
        )

    @app.get("/text")
    def text() -> str:
        return "plain"

    @app.get("/empty")
    def empty() -> Any:
        return response(204, "application/json", None)

    @app.get("/missing")
    def missing() -> Any:
        raise KeyError("no such thing")

    @app.get("/undecodable")
    def undecodable() -> Any:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    @app.get("/unexpected")
    def unexpected() -> Any:
        raise RuntimeError("internals")

    @app.route("/pairs/<left>/<right>", ["PUT", "DELETE"])
    def pairs(left: str, right: str) -> dict[str, str]:
        return {"left": left, "right": right}

    @app.exception_handler(ValueError)
    def invalid(exc: ValueError) -> Any:
        return response(400, "application/json", json.dumps({"errors": [type(exc).__name__]}))

    @app.exception_handler(LookupError)
    def lookup(exc: LookupError) -> Any:
        return response(418, "application/json", {"lookup": str(exc)}, headers={"Retry-After": "2"})

    if catch_all:

        @app.exception_handler(Exception)
        def every(exc: Exception) -> Any:
            return response(500, "application/json", {"every": True})

    return app


@pytest.fixture
def app() -> HttpRouter:
    return build(HttpRouter(), Response)  # type: ignore[no-any-return]


def test_a_parameter_takes_one_segment_as_api_gateway_sent_it(app: HttpRouter) -> None:
    answer = app.resolve(event("GET", "/cases/a%20b~(x)!*'é"), None)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["case_id"] == "a%20b~(x)!*'é"  # not URL-decoded
    assert app.resolve(event("GET", "/cases/a/b"), None)["statusCode"] == 404  # never across a "/"
    assert app.resolve(event("GET", "/cases/a#b"), None)["statusCode"] == 404


def test_a_rule_without_parameters_wins_over_one_with_them(app: HttpRouter) -> None:
    assert json.loads(app.resolve(event("GET", "/cases/fetch"), None)["body"]) == {"static": True}


def test_an_unknown_path_a_trailing_slash_or_another_method_is_404_not_found(app: HttpRouter) -> None:
    unknown = [("GET", "/nowhere"), ("GET", "/cases/"), ("POST", "/cases/fetch"), ("GET", "/pairs/a/b")]
    for method, path in unknown:
        answer = app.resolve(event(method, path), None)
        assert (answer["statusCode"], answer["body"]) == (404, '{"statusCode":404,"message":"Not found"}')
        assert answer["headers"] == {"Content-Type": "application/json"}


def test_a_handler_for_route_not_found_or_a_base_class_answers_an_unknown_route() -> None:
    app = build(HttpRouter(), Response, catch_all=True)
    assert app.resolve(event("GET", "/nowhere"), None)["statusCode"] == 500  # Exception's handler, by MRO

    @app.exception_handler(RouteNotFound)
    def not_found(exc: RouteNotFound) -> Response[str]:
        return Response(404, "text/plain", "nothing here")

    assert app.resolve(event("GET", "/nowhere"), None)["body"] == "nothing here"


def test_path_parameters_reach_the_function_by_name_for_each_declared_method(app: HttpRouter) -> None:
    for method in ("PUT", "DELETE", "put"):
        answer = app.resolve(event(method, "/pairs/1/2"), None)
        assert json.loads(answer["body"]) == {"left": "1", "right": "2"}


def test_a_stage_prefix_is_dropped_unless_the_stage_is_default(app: HttpRouter) -> None:
    assert app.resolve(event("GET", "/prod/cases/C-2", stage="prod"), None)["statusCode"] == 200
    assert app.resolve(event("GET", "/prod/cases/C-2"), None)["statusCode"] == 404


def test_a_json_answer_is_compact_with_decimals_as_text_and_dataclasses_as_fields(app: HttpRouter) -> None:
    answer = app.resolve(event("GET", "/cases/C-1"), None)
    assert answer == {
        "statusCode": 200,
        "body": '{"case_id":"C-1","amount":"1.50","nan":NaN,"citt\\u00e0":"Bolzano"}',
        "isBase64Encoded": False,
        "headers": {"Content-Type": "application/json"},
        "cookies": [],
    }
    assert app.resolve(event("GET", "/amount"), None)["body"] == '{"value":"9.90","currency":"EUR"}'
    assert app.resolve(event("GET", "/text"), None)["body"] == "plain"  # text is sent as it is
    assert app.resolve(event("GET", "/empty"), None)["body"] == "null"


def test_a_value_and_status_pair_sets_the_status(app: HttpRouter) -> None:
    answer = app.resolve(event("POST", "/cases/C-1/status", '{"status": "closed"}'), None)
    assert answer["statusCode"] == 202
    assert json.loads(answer["body"])["body"] == {"status": "closed"}


def test_a_response_keeps_its_cookies_and_joins_a_header_s_values(app: HttpRouter) -> None:
    answer = app.resolve(event("GET", "/page"), None)
    assert answer == {
        "statusCode": 201,
        "body": base64.b64encode(b"<p>ok</p>").decode(),  # bytes go base64-encoded
        "isBase64Encoded": True,
        "headers": {"Vary": "Accept, Accept-Language", "Content-Type": "text/html"},
        "cookies": ["seen=1; Path=/", "lang=it"],
    }


def test_content_type_given_in_headers_wins_over_the_content_type_argument() -> None:
    answer = Response(200, "application/json", {"a": 1}, headers={"Content-Type": "text/plain"}).payload()
    assert answer["headers"] == {"Content-Type": "text/plain"}
    assert answer["body"] == {"a": 1}  # not JSON: not serialized, as Powertools did


def test_headers_are_read_in_any_case(app: HttpRouter) -> None:
    headers = {"Content-Type": "application/json", "IDEMPOTENCY-key": "k-1"}
    answer = app.resolve(event("POST", "/cases/C-1/status", "{}", headers=headers), None)
    assert json.loads(answer["body"])["key"] == "k-1"
    request = app.current_event
    assert request.headers["idempotency-key"] == request.headers.get("Idempotency-Key") == "k-1"
    assert "Content-TYPE" in request.headers and dict(request.headers)["content-type"] == "application/json"


def test_a_base64_body_is_decoded_before_it_is_parsed(app: HttpRouter) -> None:
    raw = base64.b64encode(json.dumps({"status": "open"}).encode()).decode()
    answer = app.resolve(event("POST", "/cases/C-1/status", raw, b64=True), None)
    assert json.loads(answer["body"])["body"] == {"status": "open"}
    assert app.current_event.decoded_body == '{"status": "open"}' and app.current_event.body == raw


@pytest.mark.parametrize(
    ("body", "b64"),
    [("not json", False), ("a", True), (base64.b64encode(b"\xff\xfe").decode(), True)],
)
def test_a_body_not_json_base64_or_utf8_is_a_value_error(app: HttpRouter, body: str, b64: bool) -> None:
    answer = app.resolve(event("POST", "/cases/C-1/status", body, b64=b64), None)
    assert answer["statusCode"] == 400  # the ValueError handler's answer


@pytest.mark.parametrize("body", [None, ""])
def test_no_body_is_none_as_json(app: HttpRouter, body: str | None) -> None:
    app.resolve(event("POST", "/cases/C-1/status", body), None)
    assert app.current_event.json_body is None


def test_the_nearest_handler_in_the_exception_s_mro_answers(app: HttpRouter) -> None:
    assert app.resolve(event("GET", "/missing"), None)["statusCode"] == 418  # KeyError -> LookupError
    undecodable = app.resolve(event("GET", "/undecodable"), None)  # UnicodeDecodeError -> ValueError
    assert json.loads(undecodable["body"]) == {"errors": ["UnicodeDecodeError"]}
    with pytest.raises(RuntimeError, match="internals"):  # no handler: it propagates
        app.resolve(event("GET", "/unexpected"), None)


def test_a_handler_registered_later_for_a_subclass_wins_over_its_base_class(app: HttpRouter) -> None:
    @app.exception_handler([KeyError, IndexError])
    def key(exc: LookupError) -> Response[str]:
        return Response(404, "text/plain", "gone")

    assert app.resolve(event("GET", "/missing"), None)["statusCode"] == 404


def test_query_cookies_and_path_parameters_read_as_api_gateway_sent_them(app: HttpRouter) -> None:
    sent = event("GET", "/cases", query={"status": "open,waiting"}, cookies=["a=1", "b=2"])
    sent["pathParameters"] = {"case_id": "C-1"}
    assert json.loads(app.resolve(sent, None)["body"]) == [1, {"query": {"status": "open,waiting"}}]
    request = app.current_event
    assert request.get_query_string_value("status") == "open,waiting"
    assert request.get_query_string_value("overdue", "no") == "no"
    assert request.cookies == ["a=1", "b=2"] and request.path_parameters == {"case_id": "C-1"}
    assert request.request_context["stage"] == "$default" and request.http_method == "GET"


def test_no_current_event_outside_a_request() -> None:
    with pytest.raises(RuntimeError, match="no request"):
        _ = HttpRouter().current_event


def test_every_route_keeps_what_the_openapi_document_needs() -> None:
    app = HttpRouter()

    @app.post("/leads", summary="Record a lead", tags=["leads"], responses={201: {"description": "new"}})
    def post_lead() -> dict[str, Any]:
        return {}

    (route,) = app.routes
    assert (route.method, route.rule, route.func) == ("POST", "/leads", post_lead)
    assert route.openapi == {
        "summary": "Record a lead",
        "tags": ["leads"],
        "responses": {201: {"description": "new"}},
    }


def test_importing_the_router_imports_no_powertools_module() -> None:
    code = "import sys, crm_core.http.router; print(sorted(m for m in sys.modules if 'powertools' in m))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


EVENTS = [
    event("GET", "/cases/C-1"),
    event("GET", "/cases/a%20b%22c"),
    event("GET", "/cases/é~(x)!*'"),
    event("GET", "/cases/a/b"),
    event("GET", "/cases/"),
    event("GET", "/cases"),
    event("get", "/cases", query={"status": "open,waiting"}),
    event("GET", "/cases/fetch"),
    event("POST", "/cases/fetch"),
    event("GET", "/nowhere"),
    event("POST", "/cases/x/status", '{"s": 1}', headers={"IDEMPOTENCY-KEY": "k"}),
    event("POST", "/cases/x/status", base64.b64encode(b'{"s": [1]}').decode(), b64=True),
    event("POST", "/cases/x/status", "nope"),
    event("POST", "/cases/x/status", "!!!", b64=True),  # no base64 letter at all: an empty body
    event("POST", "/cases/x/status", "a", b64=True),
    event("POST", "/cases/x/status", base64.b64encode(b"\xff").decode(), b64=True),
    event("GET", "/amount"),
    event("GET", "/page"),
    event("GET", "/text"),
    event("GET", "/empty"),
    event("GET", "/missing"),
    event("GET", "/undecodable"),
    event("PUT", "/pairs/1/2"),
    event("GET", "/pairs/1/2"),
    event("GET", "/prod/cases/C-2", stage="prod"),
    event("GET", "/cases\n"),
    event("GET", "/cases/a?b"),
]


@pytest.mark.parametrize("catch_all", [False, True])
def test_every_answer_is_the_one_powertools_gave(catch_all: bool) -> None:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver  # the generator at build time
    from aws_lambda_powertools.event_handler import Response as PowertoolsResponse

    ours = build(HttpRouter(), Response, catch_all=catch_all)
    theirs = build(APIGatewayHttpResolver(), PowertoolsResponse, catch_all=catch_all)
    for sent in EVENTS:
        assert ours.resolve(sent, None) == theirs.resolve(sent, None), sent
