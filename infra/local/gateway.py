"""The HTTP API as API Gateway runs it: routes from the template, answers, CORS.

Pure translation, no sockets: server.py feeds requests in and writes the answers out. The payload 2.0
event itself is built by infra.local.events.http (the tests build theirs there too).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from infra.local.events.http import (  # noqa: F401 - the builder's names where older callers find them
    http_event,
    is_text,
)
from infra.template import Template

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


@dataclass(frozen=True)
class Route:
    """One `HttpApi` event of one function: `GET /contacts/{contact_id}/loyalty`."""

    method: str  # upper case, or ANY
    path: str  # as declared, or $default
    function: str
    iam: bool
    api: str | None
    _segments: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def key(self) -> str:
        """API Gateway's routeKey."""
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when this route serves the request, else None."""
        if self.method not in {"ANY", method}:
            return None
        if self.path == "$default":
            return {}
        return self._parameters([p for p in path.split("/") if p])

    def _parameters(self, parts: list[str]) -> dict[str, str] | None:
        """The path's parameters when its segments fit this route's, else None."""
        params: dict[str, str] = {}
        for index, segment in enumerate(self._segments):
            if segment.endswith("+}"):
                params[segment[1:-2]] = unquote("/".join(parts[index:]))
                return params if parts[index:] else None
            if index >= len(parts) or not (segment.startswith("{") or segment == parts[index]):
                return None
            if segment.startswith("{"):
                params[segment[1:-1]] = unquote(parts[index])
        return params if len(parts) == len(self._segments) else None

    def specificity(self) -> tuple[tuple[int, ...], bool]:
        """Sort key: literal segments beat parameters, parameters beat greedy ones, methods beat ANY."""
        if self.path == "$default":
            return (9,), True
        kinds = tuple(2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in self._segments)
        return kinds, self.method == "ANY"


def routes(template: Template) -> list[Route]:
    """Every HttpApi event of every function, most specific first (the order API Gateway matches in)."""
    found: list[Route] = []
    for logical_id, function in template.functions().items():
        for event in function.events.values():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties", {}) or {}
            api = _api_id(props.get("ApiId"))
            path = str(props.get("Path", "$default"))
            method = str(props.get("Method", "ANY")).upper()
            auth = props.get("Auth", {}).get("Authorizer") or _default_authorizer(template, api)
            segments = tuple(p for p in path.split("/") if p) if path != "$default" else ()
            found.append(Route(method, path, logical_id, auth == "AWS_IAM", api, segments))
    return sorted(found, key=Route.specificity)


def _api_id(value: Any) -> str | None:
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    return None


def _default_authorizer(template: Template, api: str | None) -> str | None:
    if api is None or api not in template.resources:
        return None
    auth = template.resources[api].get("Properties", {}).get("Auth", {})
    return str(auth["DefaultAuthorizer"]) if "DefaultAuthorizer" in auth else None


def find_route(table: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in table:
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None


# ---- the answer -------------------------------------------------------------------------------------
class BadAnswer(ValueError):
    """The handler answered something API Gateway would turn into a 500."""


@dataclass
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_answer(result: Any) -> HttpAnswer:
    """Map a handler's return value to an HTTP answer by API Gateway's payload 2.0 rules.

    A dict with `statusCode` is used as given (headers, cookies, body, isBase64Encoded); anything
    else that is JSON becomes a 200 application/json answer whose body is that JSON.
    Raises BadAnswer for answers API Gateway would reject (e.g. a body that is not a string).
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        try:
            text = json.dumps(result)
        except (TypeError, ValueError) as exc:
            raise BadAnswer(f"the answer is not JSON: {exc}") from None
        return HttpAnswer(200, [("content-type", "application/json")], text.encode())
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        raise BadAnswer(f"statusCode {result['statusCode']!r} is not a number") from None
    return HttpAnswer(status, _answer_headers(result), _answer_body(result))


def _answer_headers(result: dict[str, Any]) -> list[tuple[str, str]]:
    headers = [(str(k), _header_value(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), _header_value(v)) for v in values)
    headers.extend(("set-cookie", str(cookie)) for cookie in result.get("cookies") or [])
    return headers


def _answer_body(result: dict[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise BadAnswer(f"body must be a string, got {type(body).__name__}")
    if not result.get("isBase64Encoded"):
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except ValueError:
        raise BadAnswer("isBase64Encoded is true but body is not base64") from None


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def error_answer(status: int, message: str) -> HttpAnswer:
    """API Gateway's own error answers: `{"message": "Internal Server Error"}` and kin."""
    return HttpAnswer(
        status, [("content-type", "application/json")], json.dumps({"message": message}).encode()
    )


# ---- CORS -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cors:
    """An HttpApi's CorsConfiguration; API Gateway answers preflights and sets the headers itself."""

    origins: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    max_age: int | None = None
    credentials: bool = False

    def allowed_origin(self, origin: str | None) -> str | None:
        if not origin or not self.origins:
            return None
        if "*" in self.origins:
            return origin if self.credentials else "*"
        return origin if origin in self.origins else None

    def preflight(self, origin: str | None, method: str | None, requested: str | None) -> HttpAnswer:
        """The answer to an OPTIONS preflight (204; without CORS headers for a foreign origin)."""
        allowed = self.allowed_origin(origin)
        headers: list[tuple[str, str]] = []
        wanted_method = (method or "").upper()
        if allowed and (not self.methods or "*" in self.methods or wanted_method in self.methods):
            headers.append(("access-control-allow-origin", allowed))
            headers.append(("access-control-allow-methods", ",".join(self.methods or ("*",))))
            if self.headers:
                allow = requested if "*" in self.headers and requested else ",".join(self.headers)
                headers.append(("access-control-allow-headers", allow))
            if self.max_age is not None:
                headers.append(("access-control-max-age", str(self.max_age)))
            if self.credentials:
                headers.append(("access-control-allow-credentials", "true"))
            headers.append(("vary", "origin"))
        return HttpAnswer(204, headers, b"")

    def decorate(self, answer: HttpAnswer, origin: str | None) -> HttpAnswer:
        """API Gateway replaces the backend's CORS headers with the configured ones."""
        kept = [(k, v) for k, v in answer.headers if not k.lower().startswith("access-control-")]
        allowed = self.allowed_origin(origin)
        if allowed:
            kept.append(("access-control-allow-origin", allowed))
            if self.expose:
                kept.append(("access-control-expose-headers", ",".join(self.expose)))
            if self.credentials:
                kept.append(("access-control-allow-credentials", "true"))
            kept.append(("vary", "origin"))
        return HttpAnswer(answer.status, kept, answer.body)


def cors_of(template: Template, api: str | None) -> Cors | None:
    """The CORS configuration of the named HttpApi (or of the template's only one), if any."""
    apis = dict(template.of_type("AWS::Serverless::HttpApi"))
    resource = apis.get(api or "") or (next(iter(apis.values())) if len(apis) == 1 else None)
    if resource is None:
        return None
    props = resource.get("Properties", {})
    config = template.resolve(props.get("CorsConfiguration"))
    written = (props.get("DefinitionBody") or {}).get("x-amazon-apigateway-cors")
    if written:  # CORS written into the API definition, in API Gateway's own (camelCase) keys
        config = {key[0].upper() + key[1:]: value for key, value in template.resolve(written).items()}
    if not config:
        return None
    if config is True:
        return Cors(origins=("*",), methods=("*",), headers=("*",))

    def names(key: str, upper: bool = False) -> tuple[str, ...]:
        values = config.get(key) or []
        values = [values] if isinstance(values, str) else values
        return tuple(str(v).upper() if upper else str(v) for v in values if str(v))

    return Cors(
        origins=names("AllowOrigins"),
        methods=names("AllowMethods", upper=True),
        headers=tuple(h.lower() for h in names("AllowHeaders")),
        expose=names("ExposeHeaders"),
        max_age=int(config["MaxAge"]) if "MaxAge" in config else None,
        credentials=bool(config.get("AllowCredentials", False)),
    )
