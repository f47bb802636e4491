"""The HTTP functions' router: API Gateway HTTP API (payload format 2.0) events to route functions.

Why our own: importing Powertools' event handler cost the HTTP functions ~90 ms of cold start (its
package imports every resolver, asyncio and every event class), more than the rest of a handler's own
imports. This module imports only the standard library's `json`, `re` and `base64`.

It keeps the decorator API of Powertools 3.37's `APIGatewayHttpResolver` that the functions use, and
answers as it did:
- `<name>` in a rule matches one path segment of letters, digits, `_` and `-._~()'!*:@,;=+&$%<> []{}|^`
  (never `/`); the value reaches the route function as API Gateway sent it in `rawPath`, not
  URL-decoded. Rules without parameters are tried first, then the others, each in declaration order.
  A trailing slash is part of the path (`/cases/` is not `/cases`).
- No route for the method and path: the handler registered for `RouteNotFound` (or a base class of it,
  `Exception` included) answers, else 404 `{"statusCode":404,"message":"Not found"}`. There is no 405.
- A route's dict or list (or other JSON value) is answered 200 `application/json`, compact
  (`separators=(",", ":")`, ASCII-escaped), a `Decimal` as its string and a dataclass as its fields;
  `(value, status)` sets the status; a `Response` is answered as it is.
- An exception is answered by the handler registered for its class or the nearest base class (MRO);
  without one it propagates out of `resolve`.
- The answer is payload 2.0's: `statusCode`, `body` (bytes base64-encoded, `isBase64Encoded`),
  `headers` (a list of values joined with ", ", None left out) and `cookies` (each a Set-Cookie value).

At development time Powertools remains the OpenAPI generator: every route keeps its method, rule,
function and OpenAPI keywords (`summary`, `description`, `tags`, `responses`, `openapi_extensions`),
and infra/openapi.py replays them into an `APIGatewayHttpResolver` to ask it for the document.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
H = TypeVar("H", bound=Callable[..., "Response[Any]"])

JSON = "application/json"
# One path segment, as Powertools matches it: RFC 3986's safe characters, the unsafe ones API Gateway
# leaves encoded or passes as they are, and word characters.
_SAFE_URI = "-._~()'!*:@,;=+&$"
_UNSAFE_URI = r"%<> \[\]{}|^"
_PARAMETER = re.compile(r"(<\w+>)")
_SEGMENT = rf"(?P\1[{_SAFE_URI}{_UNSAFE_URI}\\w]+)"


class RouteNotFound(Exception):
    """No route takes the request's method and path (given to a handler registered for it)."""


class Headers(dict[str, str]):
    """A request's headers, looked up by a name in any case (kept in lower case)."""

    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        super().__init__((name.lower(), value) for name, value in (headers or {}).items())

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name.lower() if isinstance(name, str) else name)

    def get(self, name: str, default: Any = None) -> Any:
        """The header's value, or `default`."""
        return super().get(name.lower(), default)


class HttpEvent:
    """The request being answered: an API Gateway HTTP API payload format 2.0 event."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.raw_event = event
        self.headers: dict[str, str] = Headers(event.get("headers"))  # looked up in any case
        self._json: tuple[Any] | None = None

    @property
    def http_method(self) -> str:
        """GET, POST, ... (from `requestContext.http.method`)."""
        return str(self.raw_event["requestContext"]["http"]["method"])

    @property
    def path(self) -> str:
        """`rawPath`, without the stage's prefix unless the stage is `$default`."""
        stage = self.raw_event["requestContext"]["stage"]
        raw_path = str(self.raw_event["rawPath"])
        return raw_path if stage == "$default" else raw_path[len("/" + stage) :]

    @property
    def request_context(self) -> dict[str, Any]:
        """The event's `requestContext` as API Gateway sent it."""
        return dict(self.raw_event["requestContext"])

    @property
    def query_string_parameters(self) -> dict[str, str]:
        """Query parameters (a repeated name's values joined with commas, as API Gateway does)."""
        return dict(self.raw_event.get("queryStringParameters") or {})

    def get_query_string_value(self, name: str, default_value: str | None = None) -> str | None:
        """One query parameter's value, or `default_value`."""
        return self.query_string_parameters.get(name, default_value)

    @property
    def path_parameters(self) -> dict[str, str]:
        """The path parameters API Gateway matched (its route's `{name}`s)."""
        return dict(self.raw_event.get("pathParameters") or {})

    @property
    def cookies(self) -> list[str]:
        """The request's cookies, `name=value` each."""
        return list(self.raw_event.get("cookies") or [])

    @property
    def is_base64_encoded(self) -> bool:
        """Whether API Gateway base64-encoded the body (any type it does not pass as text)."""
        return bool(self.raw_event.get("isBase64Encoded"))

    @property
    def body(self) -> str | None:
        """The body as the event holds it (base64 text when `is_base64_encoded`)."""
        body = self.raw_event.get("body")
        return None if body is None else str(body)

    @property
    def decoded_body(self) -> str | None:
        """The body as text. Raises ValueError for a body that is not base64 or not UTF-8 when it
        says it is encoded."""
        body = self.body
        if self.is_base64_encoded and body:
            return base64.b64decode(body.encode()).decode()
        return body

    @property
    def json_body(self) -> Any:
        """The body parsed as JSON; None for no body or an empty one. Raises ValueError when it is not
        JSON (or not base64 / UTF-8); parsed once per request."""
        if self._json is None:
            text = self.decoded_body
            self._json = (json.loads(text) if text else None,)
        return self._json[0]


class Response(Generic[T]):
    """What a route or an exception handler answers: status, content type, body, headers, cookies.

    A body that is not text is serialized as JSON when the content type is JSON; bytes are sent
    base64-encoded. `content_type` becomes the `Content-Type` header unless `headers` sets that name.
    """

    def __init__(
        self,
        status_code: int,
        content_type: str | None = None,
        body: T | None = None,
        headers: Mapping[str, str | list[str]] | None = None,
        cookies: Iterable[object] | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.headers: dict[str, str | list[str]] = dict(headers) if headers else {}
        self.cookies = list(cookies or [])
        if content_type:
            self.headers.setdefault("Content-Type", content_type)

    def is_json(self) -> bool:
        """Whether the Content-Type is JSON."""
        content_type = self.headers.get("Content-Type", "")
        if isinstance(content_type, list):
            content_type = content_type[0]
        return content_type.startswith(JSON)

    def payload(self) -> dict[str, Any]:
        """The Lambda answer in API Gateway's payload format 2.0. Raises TypeError for a JSON body
        that cannot be serialized."""
        body: Any = self.body
        if self.is_json() and not isinstance(body, str):
            body = to_json(body)
        encoded = isinstance(body, bytes)
        if encoded:
            body = base64.b64encode(body).decode()
        headers = {
            name: value if isinstance(value, str) else ", ".join(value)
            for name, value in self.headers.items()
            if value is not None
        }
        return {
            "statusCode": self.status_code,
            "body": body,
            "isBase64Encoded": encoded,
            "headers": headers,
            "cookies": [str(cookie) for cookie in self.cookies],
        }


def _json_default(value: Any) -> Any:
    """JSON for what `json` does not know: a Decimal as its text (NaN as NaN), a dataclass as its fields."""
    from dataclasses import asdict, is_dataclass  # noqa: PLC0415 - only for a value json cannot write
    from decimal import Decimal  # noqa: PLC0415 - only for a value json cannot write

    if isinstance(value, Decimal):
        return float("nan") if value.is_nan() else str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def to_json(value: Any) -> str:
    """A route's JSON answer body: compact, ASCII-escaped. Raises TypeError for a value JSON cannot hold."""
    return json.dumps(value, separators=(",", ":"), default=_json_default)


class Route:
    """One method and rule, the function that answers it, and its OpenAPI keywords (for infra/openapi.py)."""

    __slots__ = ("func", "method", "openapi", "pattern", "rule")

    def __init__(self, method: str, rule: str, func: Callable[..., Any], openapi: dict[str, Any]) -> None:
        self.method = method.upper()
        self.rule = rule
        self.pattern = re.compile(f"^{_PARAMETER.sub(_SEGMENT, rule)}$")
        self.func = func
        self.openapi = openapi


class HttpRouter:
    """Routes of one HTTP function: `@app.get(rule)` (post, put, delete, route), exception handlers,
    and `app.resolve(event, context)`; `app.current_event` is the request being answered."""

    def __init__(self) -> None:
        self.routes: list[Route] = []  # in declaration order (the OpenAPI document's)
        self._static: list[Route] = []
        self._dynamic: list[Route] = []
        self._handlers: dict[type[BaseException], Callable[[Any], Response[Any]]] = {}
        self.lambda_context: Any = None

    @property
    def current_event(self) -> HttpEvent:
        """The request being answered. Raises RuntimeError outside `resolve`."""
        try:
            return self._event
        except AttributeError:
            raise RuntimeError("no request is being resolved") from None

    def route(
        self,
        rule: str,
        method: str | Iterable[str],
        *,
        summary: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        responses: dict[int, Any] | None = None,
        openapi_extensions: dict[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """Register the decorated function for `method` (or each of several) on `rule`; the keywords
        only describe the route in the OpenAPI document."""
        methods = [method] if isinstance(method, str) else list(method)
        openapi = {
            key: value
            for key, value in {
                "summary": summary,
                "description": description,
                "tags": tags,
                "responses": responses,
                "openapi_extensions": openapi_extensions,
            }.items()
            if value is not None
        }

        def register(func: F) -> F:
            for each in methods:
                route = Route(each, rule, func, openapi)
                self.routes.append(route)
                (self._dynamic if route.pattern.groups else self._static).append(route)
            return func

        return register

    def get(self, rule: str, **openapi: Any) -> Callable[[F], F]:
        """Register a GET route (keywords as `route`)."""
        return self.route(rule, "GET", **openapi)

    def post(self, rule: str, **openapi: Any) -> Callable[[F], F]:
        """Register a POST route (keywords as `route`)."""
        return self.route(rule, "POST", **openapi)

    def put(self, rule: str, **openapi: Any) -> Callable[[F], F]:
        """Register a PUT route (keywords as `route`)."""
        return self.route(rule, "PUT", **openapi)

    def delete(self, rule: str, **openapi: Any) -> Callable[[F], F]:
        """Register a DELETE route (keywords as `route`)."""
        return self.route(rule, "DELETE", **openapi)

    def exception_handler(
        self, exc_class: type[BaseException] | list[type[BaseException]]
    ) -> Callable[[H], H]:
        """Register the decorated function to answer exceptions of `exc_class` (or each of a list) and
        their subclasses that have no handler of their own."""

        def register(func: H) -> H:
            for each in exc_class if isinstance(exc_class, list) else [exc_class]:
                self._handlers[each] = func
            return func

        return register

    def handler_for(self, exc_class: type[BaseException]) -> Callable[[Any], Response[Any]] | None:
        """The handler registered for `exc_class` or its nearest base class, or None."""
        return next((self._handlers[c] for c in exc_class.__mro__ if c in self._handlers), None)

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        """The answer (payload format 2.0) of the route that takes the event's method and path.
        Raises what a route raises when no exception handler takes it."""
        self._event = request = HttpEvent(event)
        self.lambda_context = context
        method, path = request.http_method.upper(), request.path
        for route in (*self._static, *self._dynamic):
            if route.method == method and (match := route.pattern.match(path)):
                return self._answer(route.func, match.groupdict())
        return self._answer(self._not_found, {})

    def _not_found(self) -> Response[Any]:
        handler = self.handler_for(RouteNotFound)
        if handler is not None:
            return handler(RouteNotFound())
        return Response(404, JSON, {"statusCode": 404, "message": "Not found"})

    def _answer(self, call: Callable[..., Any], arguments: dict[str, str]) -> dict[str, Any]:
        try:
            response = _as_response(call(**arguments))
        except Exception as exc:
            handler = self.handler_for(type(exc))
            if handler is None:
                raise
            response = handler(exc)
        return response.payload()


def _as_response(result: Any) -> Response[Any]:
    """A route's result as a Response: as it is, `(value, status)`, or a JSON value answered 200."""
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple) and len(result) == 2:
        return Response(result[1], JSON, result[0])
    return Response(200, JSON, result)
