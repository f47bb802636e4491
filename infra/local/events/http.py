"""The HTTP API's event: API Gateway's payload format 2.0, as the local gateway and the tests build it."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote

from infra.template import ACCOUNT_ID

LOCAL_CALLER = {
    "accessKey": "AKIALOCALSTACK000000",
    "accountId": ACCOUNT_ID,
    "callerId": "AIDALOCALSTACKCALLER",
    "cognitoIdentity": None,
    "principalOrgId": None,
    "userArn": f"arn:aws:iam::{ACCOUNT_ID}:user/local-caller",
    "userId": "AIDALOCALSTACKCALLER",
}  # IAM-authorized routes see this caller: the local gateway does NOT check SigV4 signatures


class MatchedRoute(Protocol):
    """What the event needs of the route that took the request."""

    @property
    def key(self) -> str:
        """API Gateway's routeKey: `GET /contacts/{contact_id}/loyalty`, or `$default`."""
        ...

    @property
    def iam(self) -> bool:
        """Whether the route is authorized with AWS_IAM (the event then carries the caller)."""
        ...


def is_text(content_type: str) -> bool:
    """Bodies API Gateway passes as text; every other body arrives base64-encoded."""
    main = content_type.split(";", 1)[0].strip().lower()
    return main == "application/json" or main.startswith("text/")


def http_event(
    route: MatchedRoute,
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    path_parameters: dict[str, str],
    source_ip: str,
    host: str,
    at: datetime,
    base64_body: bool | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload format 2.0 event.

    `base64_body` None encodes the body by API Gateway's rule (`is_text`); True or False forces it.
    """
    merged, cookies = _headers(headers)
    merged.setdefault("host", host)
    merged["x-forwarded-for"] = source_ip
    merged["x-forwarded-proto"] = "http"
    merged["x-forwarded-port"] = host.rpartition(":")[2] if ":" in host else "80"
    merged["x-amzn-trace-id"] = f"Root=1-{int(at.timestamp()):08x}-{uuid.uuid4().hex[:24]}"
    query = _query(raw_query)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    event["requestContext"] = _request_context(
        route, method=method, raw_path=raw_path, headers=merged, source_ip=source_ip, host=host, at=at
    )
    if base64_body is None:
        base64_body = not is_text(merged.get("content-type", ""))
    text, encoded = _body(body, base64_body)
    if text is not None:
        event["body"] = text
    event["isBase64Encoded"] = encoded
    return event


def _headers(headers: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Names in lower case, a repeated header's values joined by commas; cookies apart (payload 2.0)."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        else:
            merged[lower] = f"{merged[lower]},{value}" if lower in merged else value
    return merged, cookies


def _query(raw_query: str) -> dict[str, str]:
    """queryStringParameters: a repeated name's values joined by commas."""
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    return query


def _request_context(
    route: MatchedRoute,
    *,
    method: str,
    raw_path: str,
    headers: dict[str, str],
    source_ip: str,
    host: str,
    at: datetime,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": "local",
        "domainName": host.split(":", maxsplit=1)[0],
        "domainPrefix": host.split(".", maxsplit=1)[0].split(":", maxsplit=1)[0],
        "http": {
            "method": method,
            "path": unquote(raw_path),
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("="),
        "routeKey": route.key,
        "stage": "$default",
        "time": at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(at.timestamp() * 1000),
    }
    if route.iam:
        context["authorizer"] = {"iam": dict(LOCAL_CALLER)}
    return context


def _body(body: bytes, base64_body: bool) -> tuple[str | None, bool]:
    """(body, isBase64Encoded): no body is left out; text that is not UTF-8 goes base64 after all."""
    if not body:
        return None, False
    if not base64_body:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True
