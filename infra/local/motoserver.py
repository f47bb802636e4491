"""moto's server on loopback, in a thread of this process, one request at a time.

moto's conditional writes are a check then a write in Python; one lock around request handling
makes every request atomic, as DynamoDB's are. Connections stay keep-alive (threaded werkzeug), but
requests never overlap.

moto's state lives in this process, so one server serves every stack the process starts in turn
(`shared()`), reset between them: a handler module imported once keeps any client it made at import
pointing at a live endpoint.
"""

from __future__ import annotations

import logging
import threading
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, make_server


class _OneAtATime:
    """WSGI middleware: the wrapped app handles one request at a time; `after` runs inside the lock."""

    def __init__(self, app: Any, after: Callable[[], None] = lambda: None) -> None:
        self.app = app
        self.after = after
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self.lock:
            result = self.app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            self.after()
        return [body]


class MotoServer:
    """Start, reset and stop a moto server bound to 127.0.0.1 on a free port."""

    _shared: MotoServer | None = None
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls) -> MotoServer:
        """The process's moto server, started on first use; it lives as long as the process."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls().start()
            return cls._shared

    def __init__(self, host: str = "127.0.0.1") -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # verbose=False does not silence it
        self.app = _OneAtATime(DomainDispatcherApplication(create_backend_app))
        server = make_server(host, 0, self.app, threaded=True, request_handler=MotoRequestHandler)
        assert isinstance(server, ThreadedWSGIServer)  # noqa: S101 - narrows the type; make_server(threaded=True) returns one
        self._server = server
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="moto", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def after_each_request(self, hook: Callable[[], None]) -> None:
        """Run `hook` after every request, inside the request lock (the outbox stamps mail with it)."""
        self.app.after = hook

    def start(self) -> MotoServer:
        self._thread.start()
        return self

    def reset(self) -> None:
        """Wipe every backend (moto's state is process-wide: a fresh stack starts from nothing)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")  # noqa: S310 - moto's own local address
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - moto's own local address
            response.read()

    def stop(self) -> None:
        """Stop serving (not for the shared server, which other stacks of the process reuse)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
