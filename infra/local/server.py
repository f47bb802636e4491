"""The local stack's one HTTP port: the template's HTTP API, the /_local/ control routes, static pages."""

from __future__ import annotations

import importlib
import importlib.util
import json
import mimetypes
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from crm_core import clock
from infra.local import events, gateway
from infra.local.control import advance  # noqa: F401 - where the clock's tests find it
from infra.local.runtime import Runtime
from infra.template import Template

Answer = gateway.HttpAnswer


class Site(Protocol):
    """What the HTTP server needs of the stack behind it."""

    @property
    def url(self) -> str: ...

    @property
    def root(self) -> Path:
        """The checkout whose examples/ folder is served."""
        ...

    @property
    def template(self) -> Template: ...

    @property
    def routes(self) -> list[gateway.Route]: ...

    @property
    def runtime(self) -> Runtime: ...

    @property
    def log_requests(self) -> bool: ...

    def log(self, text: str) -> None: ...

    def control(self, method: str, path: str, query: dict[str, str], body: bytes) -> Answer:
        """Answer a request under /_local/."""
        ...


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
        site = self.server.site
        split = urlsplit(self.path)
        method = self.command
        label = ""
        try:
            body = self._read_body()
            if len(body) > gateway.MAX_REQUEST_BYTES:
                answer = gateway.error_answer(413, "Request Entity Too Large")
            elif split.path == "/_local" or split.path.startswith("/_local/"):
                query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
                answer = site.control(method, split.path, query, body)
            else:
                answer, label = self._api(method, split.path, split.query, body)
        except Exception:  # noqa: BLE001 - a bug in the local stack answers 500 and shows its traceback
            site.log(traceback.format_exc().rstrip())
            answer = gateway.error_answer(500, "Internal Server Error (local stack)")
        self._write(answer, head=method == "HEAD")
        elapsed = (time.perf_counter() - started) * 1000
        if site.log_requests:
            site.log(f"{method} {self.path} -> {answer.status}{label} ({elapsed:.0f} ms)")

    def _api(self, method: str, path: str, raw_query: str, body: bytes) -> tuple[Answer, str]:
        site = self.server.site
        origin = self.headers.get("origin")
        lookup = "GET" if method == "HEAD" else method
        found = gateway.find_route(site.routes, lookup, path)
        if method == "OPTIONS" and self.headers.get("access-control-request-method"):
            cors = gateway.cors_of(site.template, found[0].api if found else None)
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
        event = events.http_event(
            route,
            method=method,
            raw_path=path,
            raw_query=raw_query,
            headers=list(self.headers.items()),
            body=body,
            path_parameters=params,
            source_ip=self.client_address[0],
            host=self.headers.get("host") or urlsplit(site.url).netloc,
            at=clock.now(),
        )
        invocation = site.runtime.invoke(route.function, event)
        label = f" {route.function}"
        if not invocation.ok:
            answer = gateway.error_answer(500, "Internal Server Error")
        else:
            try:
                answer = gateway.http_answer(invocation.result)
            except gateway.BadAnswer as exc:
                site.log(f"[{route.function}] answer API Gateway would reject: {exc}")
                answer = gateway.error_answer(500, "Internal Server Error")
        answer.headers.append(("apigw-requestid", event["requestContext"]["requestId"]))
        cors = gateway.cors_of(site.template, route.api)
        return (cors.decorate(answer, origin) if cors else answer), label

    def _static(self, method: str, path: str) -> Answer:
        site = self.server.site
        if method == "GET" and path == "/openapi.json":
            return openapi_document()
        if method == "GET" and (path == "/" or path.startswith("/examples/")):
            relative = "examples/lead-form/index.html" if path == "/" else path.lstrip("/")
            return static_file(site.root, relative)
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


def openapi_document() -> Answer:
    """GET /openapi.json: the document infra.openapi builds, once that module exists."""
    if importlib.util.find_spec("infra.openapi") is None:
        return gateway.error_answer(404, "infra/openapi.py does not exist yet: no OpenAPI document to serve")
    module: Any = importlib.import_module("infra.openapi")
    document = module.build_document()
    body = document if isinstance(document, str) else json.dumps(document, indent=2)
    return Answer(200, [("content-type", "application/json")], body.encode())


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

    def __init__(self, address: tuple[str, int], site: Site) -> None:
        self.site = site
        super().__init__(address, Handler)


def serve_in_thread(server: LocalHTTPServer) -> threading.Thread:
    server.serving = True  # stop() waits for serve_forever only if it was ever started
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="gateway", daemon=True
    )
    thread.start()
    return thread
