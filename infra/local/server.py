"""The local stack's one HTTP port: the template's HTTP API, the /_local/ control routes, static pages."""

from __future__ import annotations

import json
import mimetypes
import re
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from crm_core import clock
from infra.local import events, gateway
from infra.local.triggers import NotFoundError

if TYPE_CHECKING:
    from infra.local.stack import LocalStack

Answer = gateway.HttpAnswer


def json_answer(status: int, document: Any) -> Answer:
    body = json.dumps(document, indent=2, default=str).encode()
    return Answer(status, [("content-type", "application/json")], body)


class ControlRoutes:
    """`/_local/...`: outbox, inbox, clock, schedules, queues, topics, and what the stack serves."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.table: list[tuple[str, re.Pattern[str], Callable[..., Answer]]] = [
            ("GET", re.compile(r"/_local/?"), self.info),
            ("GET", re.compile(r"/_local/routes"), self.routes),
            ("GET", re.compile(r"/_local/outbox"), self.outbox),
            ("POST", re.compile(r"/_local/inbox"), self.inbox),
            ("GET", re.compile(r"/_local/clock"), self.get_clock),
            ("POST", re.compile(r"/_local/clock"), self.set_clock),
            ("GET", re.compile(r"/_local/schedules"), self.schedules),
            ("POST", re.compile(r"/_local/schedules/(?P<name>[^/]+)"), self.run_schedule),
            ("GET", re.compile(r"/_local/queues"), self.queues),
            ("POST", re.compile(r"/_local/queues/(?P<name>[^/]+)"), self.send_to_queue),
            ("GET", re.compile(r"/_local/topics"), self.topics),
            ("POST", re.compile(r"/_local/topics/(?P<name>[^/]+)"), self.publish),
            ("GET", re.compile(r"/_local/buses"), self.buses),
            ("POST", re.compile(r"/_local/buses/(?P<name>[^/]+)"), self.put_event),
            ("POST", re.compile(r"/_local/buckets/(?P<name>[^/]+)/(?P<key>.+)"), self.put_object),
            ("GET", re.compile(r"/_local/iam"), self.iam),
        ]

    def handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> Answer:
        allowed = []
        for route_method, pattern, action in self.table:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if route_method != method:
                allowed.append(route_method)
                continue
            try:
                return action(query=query, body=body, **match.groupdict())
            except NotFoundError as exc:
                return json_answer(404, {"message": str(exc)})
            except (ValueError, KeyError) as exc:
                return json_answer(400, {"message": str(exc)})
        if allowed:
            return json_answer(405, {"message": f"{path} answers {', '.join(sorted(set(allowed)))}"})
        return json_answer(404, {"message": f"no local route {path}", "routes": self._names()})

    def _names(self) -> list[str]:
        return [f"{m} {p.pattern}" for m, p, _ in self.table]

    # ---- the routes ------------------------------------------------------------------------------
    def info(self, **_: Any) -> Answer:
        stack = self.stack
        return json_answer(
            200,
            {
                "url": stack.url,
                "moto_endpoint": stack.moto_url,
                "region": stack.template.region,
                "clock": events.iso_seconds(clock.now()),
                "auto_schedules": stack.auto_schedules,
                "parameters": stack.template.param_values,
                "routes": self._route_list(),
                "control": self._names(),
                "schedules": stack.schedules.describe(),
                "queues": [q.logical_id for q in stack.queues.items.values()],
                "topics": stack.topics.describe(),
                "buses": stack.buses.describe(),
            },
        )

    def _route_list(self) -> list[dict[str, Any]]:
        return [
            {
                "method": r.method,
                "path": r.path,
                "function": r.function,
                "auth": "AWS_IAM" if r.iam else "NONE",
            }
            for r in self.stack.routes
        ]

    def routes(self, **_: Any) -> Answer:
        return json_answer(200, self._route_list())

    def iam(self, **_: Any) -> Answer:
        """What the IAM check saw: per function, the calls its role allowed, the denials, unused grants."""
        deployment = self.stack.deployment
        return json_answer(
            200,
            {
                "enforced": True,
                "used": deployment.usage(),
                "denials": list(deployment.denials),
                "unused_grants": deployment.unused_grants(),
            },
        )

    def outbox(self, **_: Any) -> Answer:
        return json_answer(200, self.stack.outbox.entries())

    def inbox(self, query: dict[str, str], body: bytes, **_: Any) -> Answer:
        if not body.strip():
            raise ValueError("the body must be a raw RFC 5322 message")
        verdicts = {}
        for name in events.VERDICTS:
            value = query.get(name, "PASS").upper()
            if value not in events.VERDICT_VALUES:
                raise ValueError(f"{name} must be one of {sorted(events.VERDICT_VALUES)}, not {value!r}")
            verdicts[name] = value
        status, answer = self.stack.inbox.deliver(body, verdicts)
        return json_answer(status, answer)

    def get_clock(self, **_: Any) -> Answer:
        return json_answer(200, {"now": events.iso_seconds(clock.now())})

    def set_clock(self, body: bytes, **_: Any) -> Answer:
        request = _json_object(body)
        if "now" in request:
            self.stack.clock.set(clock.parse_instant(str(request["now"])))
        elif "advance" in request:
            self.stack.clock.set(advance(clock.now(), request["advance"]))
        else:
            raise ValueError('send {"now": "2027-02-28T09:30:00Z"} or {"advance": "P1D"} (or seconds)')
        return json_answer(200, {"now": events.iso_seconds(clock.now())})

    def schedules(self, **_: Any) -> Answer:
        return json_answer(200, self.stack.schedules.describe())

    def run_schedule(self, name: str, query: dict[str, str], **_: Any) -> Answer:
        found = self.stack.schedules.of(name, query.get("event"))
        runs = [self._run_one(s) for s in found]
        if len(runs) == 1:
            return json_answer(200, runs[0])
        status = "failed" if any(r["status"] == "failed" for r in runs) else "succeeded"
        return json_answer(200, {"function": name, "status": status, "runs": runs})

    def _run_one(self, schedule: Any) -> dict[str, Any]:
        """One run with the emails it sent; a failed run's `result` says what it did before the error."""
        mark = self.stack.outbox.count()
        run = self.stack.schedules.run(schedule)
        sent = [{"to": e.get("to"), "subject": e.get("subject")} for e in self.stack.outbox.entries(mark)]
        run["sent"] = sent
        if run["status"] == "failed":
            error = run.get("error") or {}
            run["result"] = {
                "sent": len(sent),
                "error": f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}",
            }
        return run

    def queues(self, **_: Any) -> Answer:
        return json_answer(200, self.stack.queues.describe())

    def send_to_queue(self, name: str, body: bytes, query: dict[str, str], **_: Any) -> Answer:
        self.stack.queues.info(name)
        if body.strip():
            _json_any(body)  # the contract: the body is one JSON message
            return json_answer(
                200, self.stack.queues.put_and_deliver(name, body.decode(), query.get("group"))
            )
        return json_answer(200, {"queue": name, "message_id": None} | self.stack.queues.deliver(name))

    def topics(self, **_: Any) -> Answer:
        return json_answer(200, self.stack.topics.describe())

    def publish(self, name: str, body: bytes, query: dict[str, str], **_: Any) -> Answer:
        if not body:
            raise ValueError("the body is the message to publish")
        return json_answer(200, self.stack.topics.publish(name, body.decode(), query.get("subject")))

    def buses(self, **_: Any) -> Answer:
        return json_answer(200, self.stack.buses.describe())

    def put_event(self, name: str, body: bytes, **_: Any) -> Answer:
        entry = _json_any(body)  # {"DetailType", "Source", "Detail": {...}} as PutEvents takes one entry
        if not isinstance(entry, dict) or not entry.get("DetailType"):
            raise ValueError(
                'the body is one PutEvents entry: {"DetailType": ..., "Source": ..., "Detail": {...}}'
            )
        detail = entry.get("Detail", {})
        entry = {**entry, "Detail": detail if isinstance(detail, str) else json.dumps(detail)}
        return json_answer(200, self.stack.buses.put(name, entry))

    def put_object(self, name: str, key: str, body: bytes, **_: Any) -> Answer:
        return json_answer(200, self.stack.buckets.put(name, key, body))


_DURATION = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)


def advance(now: Any, amount: Any) -> Any:
    """`now` moved by seconds (a number) or an ISO 8601 duration (P1D, PT2H, P1Y2M, P2W)."""
    from datetime import timedelta

    if isinstance(amount, int | float) and not isinstance(amount, bool):
        return now + timedelta(seconds=amount)
    match = _DURATION.fullmatch(str(amount).strip().upper())
    if match is None or str(amount).strip().upper() in {"P", "PT"}:
        raise ValueError(f"advance must be seconds or an ISO 8601 duration like P1D, not {amount!r}")
    parts = {k: float(v) if k == "seconds" else int(v) for k, v in match.groupdict().items() if v}
    months = parts.get("years", 0) * 12 + parts.get("months", 0)
    if months:
        year, month = divmod(now.month - 1 + months, 12)
        import calendar

        last_day = calendar.monthrange(now.year + year, month + 1)[1]
        now = now.replace(year=now.year + year, month=month + 1, day=min(now.day, last_day))
    return now + timedelta(
        weeks=parts.get("weeks", 0),
        days=parts.get("days", 0),
        hours=parts.get("hours", 0),
        minutes=parts.get("minutes", 0),
        seconds=parts.get("seconds", 0),
    )


def _json_any(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise ValueError("the body is not JSON") from None


def _json_object(body: bytes) -> dict[str, Any]:
    document = _json_any(body)
    if not isinstance(document, dict):
        raise ValueError("the body must be a JSON object")
    return document


class Handler(BaseHTTPRequestHandler):
    """One request: /_local/ routes, then the template's routes (and CORS), then static pages."""

    server: LocalHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "crm-local"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass  # one line per request is written by _handle instead

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        started = time.perf_counter()
        stack = self.server.stack
        split = urlsplit(self.path)
        method = self.command
        label = ""
        try:
            body = self._read_body()
            if len(body) > gateway.MAX_REQUEST_BYTES:
                answer = gateway.error_answer(413, "Request Entity Too Large")
            elif split.path == "/_local" or split.path.startswith("/_local/"):
                query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
                answer = stack.control.handle(method, split.path, query, body)
            else:
                answer, label = self._api(method, split.path, split.query, body)
        except Exception:  # noqa: BLE001 - a bug in the local stack answers 500 and shows its traceback
            stack.log(traceback.format_exc().rstrip())
            answer = gateway.error_answer(500, "Internal Server Error (local stack)")
        self._write(answer, head=method == "HEAD")
        elapsed = (time.perf_counter() - started) * 1000
        if stack.log_requests:
            stack.log(f"{method} {self.path} -> {answer.status}{label} ({elapsed:.0f} ms)")

    def _api(self, method: str, path: str, raw_query: str, body: bytes) -> tuple[Answer, str]:
        stack = self.server.stack
        origin = self.headers.get("origin")
        lookup = "GET" if method == "HEAD" else method
        found = gateway.find_route(stack.routes, lookup, path)
        if method == "OPTIONS" and self.headers.get("access-control-request-method"):
            cors = gateway.cors_of(stack.template, found[0].api if found else None)
            if cors is not None:
                preflight = cors.preflight(
                    origin,
                    self.headers.get("access-control-request-method"),
                    self.headers.get("access-control-request-headers"),
                )
                return preflight, " (CORS preflight)"
        if found is None:
            return self._static(lookup, path), ""
        route, params = found
        event = gateway.http_event(
            route,
            method=method,
            raw_path=path,
            raw_query=raw_query,
            headers=list(self.headers.items()),
            body=body,
            path_parameters=params,
            source_ip=self.client_address[0],
            host=self.headers.get("host") or f"{stack.host}:{stack.port}",
            at=clock.now(),
        )
        invocation = stack.runtime.invoke(route.function, event)
        label = f" {route.function}"
        if not invocation.ok:
            answer = gateway.error_answer(500, "Internal Server Error")
        else:
            try:
                answer = gateway.http_answer(invocation.result)
            except gateway.BadAnswer as exc:
                stack.log(f"[{route.function}] answer API Gateway would reject: {exc}")
                answer = gateway.error_answer(500, "Internal Server Error")
        answer.headers.append(("apigw-requestid", event["requestContext"]["requestId"]))
        cors = gateway.cors_of(stack.template, route.api)
        return (cors.decorate(answer, origin) if cors else answer), label

    def _static(self, method: str, path: str) -> Answer:
        stack = self.server.stack
        if method == "GET" and path == "/openapi.json":
            return stack.openapi()
        if method == "GET" and (path == "/" or path.startswith("/examples/")):
            relative = "examples/lead-form/index.html" if path == "/" else path.lstrip("/")
            return static_file(stack.root, relative)
        return gateway.error_answer(404, "Not Found")

    def _write(self, answer: Answer, head: bool = False) -> None:
        self.send_response(answer.status)
        names = {k.lower() for k, _ in answer.headers}
        for name, value in answer.headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        if "content-type" not in names and answer.body:
            self.send_header("content-type", "application/octet-stream")
        self.send_header("content-length", str(len(answer.body)))
        self.end_headers()
        if not head:
            self.wfile.write(answer.body)


def static_file(root: Path, relative: str) -> Answer:
    """A file under root/examples; nothing outside it, whatever the path says."""
    base = (root / "examples").resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        what = (
            "examples/lead-form/index.html does not exist yet"
            if relative.endswith("lead-form/index.html")
            else (f"/{relative} is not a file of examples/")
        )
        page = f"<!doctype html><title>Not found</title><h1>Not found</h1><p>{what}.</p>"
        return Answer(404, [("content-type", "text/html; charset=utf-8")], page.encode())
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in {"application/javascript", "application/json"}:
        kind += "; charset=utf-8"
    return Answer(200, [("content-type", kind)], target.read_bytes())


class LocalHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    serving = False

    def __init__(self, address: tuple[str, int], stack: LocalStack) -> None:
        self.stack = stack
        super().__init__(address, Handler)


def serve_in_thread(server: LocalHTTPServer) -> threading.Thread:
    server.serving = True  # stop() waits for serve_forever only if it was ever started
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="gateway", daemon=True
    )
    thread.start()
    return thread
