"""Drive a running local stack over HTTP (demo scenes, e2e tests, `crm outbox`). Standard library only.

    local = LocalClient("http://127.0.0.1:3000")
    local.post("/leads", json={"email": "ana@example.com"}).status   # 201
    local.set_clock("2027-02-28T09:30:00Z")
    local.run_schedule("SendFollowupsFunction")["status"]             # "succeeded"
    [m["subject"] for m in local.outbox()]

`get`/`post` never follow redirects (a 303 is an answer to check) and never raise for a status;
the helpers below them raise LocalStackError when the stack refuses what they ask.
"""

from __future__ import annotations

import json as jsonlib
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlencode


class LocalStackError(RuntimeError):
    """The local stack answered a control request with an error status."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"{response.method} {response.url} -> {response.status}: {response.text[:500]}")
        self.response = response


@dataclass
class Response:
    status: int
    headers: Message  # case-insensitive: response.headers["Content-Type"]
    content: bytes
    url: str = ""
    method: str = ""

    @property
    def text(self) -> str:
        charset = self.headers.get_content_charset() or "utf-8"
        return self.content.decode(charset, errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    def __repr__(self) -> str:
        return f"<Response {self.method} {self.url} {self.status}>"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


class LocalClient:
    """A small HTTP client bound to one local stack's base URL."""

    def __init__(self, base_url: str = "http://127.0.0.1:3000", timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    # ---- plain HTTP -------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | str | Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Send one request. `json=` sends JSON; `data=` sends bytes, text, or a dict as a form post."""
        url = self.base_url + path
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
        sent_headers = {k.lower(): v for k, v in (headers or {}).items()}
        body = _encode(json, data, sent_headers)
        if body is None and method in {"POST", "PUT", "PATCH"}:
            body = b""
        request = urllib.request.Request(url, data=body, headers=sent_headers, method=method)  # noqa: S310 - the local stack's own http address
        try:
            with _opener.open(request, timeout=timeout or self.timeout) as answer:
                return Response(answer.status, answer.headers, answer.read(), url, method)
        except urllib.error.HTTPError as error:
            with error:
                return Response(error.code, error.headers, error.read(), url, method)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Response:
        return self.request("POST", path, **kw)

    def options(self, path: str, **kw: Any) -> Response:
        return self.request("OPTIONS", path, **kw)

    # ---- the /_local/ control routes --------------------------------------------------------------
    def _control(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kw: Any) -> Any:
        response = self.request(method, path, **kw)
        if response.status not in ok:
            raise LocalStackError(response)
        return response.json()

    def info(self) -> dict[str, Any]:
        """What the stack serves: url, moto endpoint, routes, schedules, queues, topics, clock."""
        return self._control("GET", "/_local")  # type: ignore[no-any-return]

    def outbox(self) -> list[dict[str, Any]]:
        """Every email sent so far, oldest first (to, from, subject, text, html, headers, sent_at, ...)."""
        return self._control("GET", "/_local/outbox")  # type: ignore[no-any-return]

    def now(self) -> str:
        """The local clock, as ISO 8601 UTC ("2027-02-28T09:30:00Z")."""
        return str(self._control("GET", "/_local/clock")["now"])

    def set_clock(self, iso: str) -> str:
        """Move the local clock to `iso` (it keeps ticking from there); returns the new time."""
        return str(self._control("POST", "/_local/clock", json={"now": iso})["now"])

    def advance_clock(self, duration: str | float) -> str:
        """Move the local clock forward by an ISO 8601 duration ("P1D", "PT2H") or seconds."""
        return str(self._control("POST", "/_local/clock", json={"advance": duration})["now"])

    def schedules(self) -> list[dict[str, Any]]:
        return self._control("GET", "/_local/schedules")  # type: ignore[no-any-return]

    def run_schedule(self, logical_id: str, event: str | None = None) -> dict[str, Any]:
        """Run a scheduled function now, at the local clock's time; its outcome (status, result, ...)."""
        params = {"event": event} if event else None
        return self._control("POST", f"/_local/schedules/{logical_id}", params=params)  # type: ignore[no-any-return]

    def queues(self) -> list[dict[str, Any]]:
        return self._control("GET", "/_local/queues")  # type: ignore[no-any-return]

    def send_to_queue(self, logical_id: str, message: Any) -> dict[str, Any]:
        """Put a JSON message on a queue; answers once its event source delivered everything waiting."""
        return self._control("POST", f"/_local/queues/{logical_id}", json=message)  # type: ignore[no-any-return]

    def drain_queue(self, logical_id: str) -> dict[str, Any]:
        """Deliver what is waiting on a queue (e.g. put there by a handler) to its event source."""
        return self._control("POST", f"/_local/queues/{logical_id}")  # type: ignore[no-any-return]

    def publish(
        self, logical_id: str, message: dict[str, Any] | str, subject: str | None = None
    ) -> dict[str, Any]:
        """Publish to an SNS topic (a dict is sent as JSON) and deliver it to the subscribed functions."""
        body = message if isinstance(message, str) else jsonlib.dumps(message)
        params = {"subject": subject} if subject else None
        return self._control(  # type: ignore[no-any-return]
            "POST",
            f"/_local/topics/{logical_id}",
            params=params,
            data=body.encode(),
            headers={"content-type": "text/plain; charset=utf-8"},
        )

    def ses_event(self, record: dict[str, Any]) -> dict[str, Any]:
        """Deliver one SES event record (bounce, complaint, delivery, send) as SES does: on EventBridge's
        default bus, to the functions whose rule matches the template's configuration set."""
        return self._control("POST", "/_local/ses-events", json=record)  # type: ignore[no-any-return]

    def deliver_email(self, raw: bytes | str, **verdicts: str) -> dict[str, Any]:
        """Deliver a raw RFC 5322 message as SES inbound would; verdicts: spam, virus, spf, dkim, dmarc."""
        body = raw.encode() if isinstance(raw, str) else raw
        return self._control(  # type: ignore[no-any-return]
            "POST",
            "/_local/inbox",
            ok=(202,),
            params=verdicts or None,
            data=body,
            headers={"content-type": "message/rfc822"},
        )

    def say(self, text: str) -> None:
        """Narration: printed as the demo tells its story."""
        print(f"  | {text}", flush=True)  # noqa: T201 - the demo's narration is its output


def _encode(json: Any, data: bytes | str | Mapping[str, Any] | None, headers: dict[str, str]) -> bytes | None:
    """The request body for `json=` or `data=`, setting its content type in `headers` unless given."""
    if json is not None:
        headers.setdefault("content-type", "application/json")
        return jsonlib.dumps(json).encode()
    if isinstance(data, Mapping):
        headers.setdefault("content-type", "application/x-www-form-urlencoded")
        return urlencode(data, doseq=True).encode()
    if isinstance(data, str):
        headers.setdefault("content-type", "text/plain; charset=utf-8")
        return data.encode()
    return data
