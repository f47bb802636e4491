"""The local stack: moto + the template's resources + the HTTP gateway + trigger runners + a movable clock."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from crm_core import aws, clock
from crm_core.contacts import identity
from crm_core.messaging import tokens
from crm_core.models import reset_connections
from crm_core.settings import reset_settings
from infra import business_files
from infra.aws_rules import enforce
from infra.local import gateway, server
from infra.local.control import ControlRoutes
from infra.local.motoserver import MotoServer
from infra.local.outbox import Outbox
from infra.local.parts import StackParts
from infra.local.runtime import Runtime
from infra.local.triggers.buses import Buses
from infra.local.triggers.queues import Queues
from infra.local.triggers.schedules import AutoScheduler, Schedules
from infra.template import ROOT, Template

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
}
_active: list[LocalStack] = []  # moto's state, os.environ and the clock are process-wide: one stack at a time


class LocalStack:
    """Start with `start()` (or `with LocalStack(...) as stack:`), stop with `stop()`."""

    def __init__(
        self,
        template: Template | None = None,
        *,
        port: int = 3000,
        host: str = "127.0.0.1",
        auto_schedules: bool = False,
        log: Callable[[str], None] | None = None,
        log_requests: bool = True,
        env_overrides: dict[str, str] | None = None,
        root: Path = ROOT,
    ) -> None:
        self.template = template or Template()
        self.host, self.port = host, port
        self.auto_schedules = auto_schedules
        self.log = log or _print
        self.log_requests = log_requests
        self.env_overrides = env_overrides or {}  # e.g. quieter Powertools logs for the demo
        self.root = root
        self.clock = clock.MovableClock()
        self.routes = gateway.routes(self.template)
        self.startup_seconds = 0.0
        self._control = ControlRoutes(self)
        self._parts: StackParts | None = None  # made whole by start(), kept after stop() for a last look
        self._saved_env: dict[str, str | None] = {}
        self._previous_clock: clock.Clock | None = None
        self._linked = False  # this stack gave PublicBaseUrl its URL (stop() takes it back)
        self._origins_added = False  # this stack added its origin to AllowedOrigins (stop() restores)
        self._caller_origins: str | None = None
        self._moto: MotoServer | None = None
        self._http: server.LocalHTTPServer | None = None
        self._auto: AutoScheduler | None = None
        self._stopped = threading.Event()

    # ---- lifecycle --------------------------------------------------------------------------------
    def start(self) -> LocalStack:
        """Start moto, create the template's resources, serve; raises OSError if the port is taken."""
        if _active:
            raise RuntimeError("a local stack is already running in this process; stop it first")
        started = time.perf_counter()
        _active.append(self)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - started
        return self

    def _start(self) -> None:
        # A broken campaigns.yaml (or other business file) is refused now, never after "Ready".
        business_files.check()
        # Bind first: the port is part of the deployment (links in emails point at this stack).
        self._http = server.LocalHTTPServer((self.host, self.port), self)
        self.port = self._http.server_address[1]
        self._link_here()
        # What AWS runs first: the SAM transform (a template it rejects never starts), then every
        # call a function makes is checked against the role SAM generates for it.
        enforce.install()
        deployment = enforce.Deployment(self.template)
        deployment.roles  # noqa: B018 - transform now: refuse to start on a template AWS refuses
        outbox = Outbox(self.template.region, self.clock.now)
        self._moto = MotoServer.shared()
        self._moto.reset()
        self._moto.after_each_request(outbox.stamp_new)
        self._environment(self._moto.url)
        self._previous_clock = clock.use_clock(self.clock)
        self._parts = StackParts.create(
            self.template,
            moto_url=self._moto.url,
            deployment=deployment,
            outbox=outbox,
            log=self.log,
            env_overrides=self.env_overrides,
        )
        server.serve_in_thread(self._http)
        if self.auto_schedules:
            self._auto = AutoScheduler(self._parts.schedules, self.log)
            self._auto.start()

    def _link_here(self) -> None:
        """Give the template's PublicBaseUrl parameter this stack's URL, unless the caller set it, and
        add this stack's origin to AllowedOrigins, so the example form's CORS and thank-you redirect
        work on whatever port the stack got (the parameter's default names port 3000 only)."""
        parameters = self.template.body.get("Parameters", {})
        if "PublicBaseUrl" in parameters and "PublicBaseUrl" not in self.template.parameters:
            self.template.parameters["PublicBaseUrl"] = self.url
            self._linked = True
        if "AllowedOrigins" in parameters:
            current = self.template.param_values["AllowedOrigins"]
            listed = [origin for origin in current.split(",") if origin]
            added = [origin for origin in self._own_origins() if origin not in listed]
            if added:
                self._caller_origins = self.template.parameters.get("AllowedOrigins")
                self.template.parameters["AllowedOrigins"] = ",".join([*listed, *added])
                self._origins_added = True
        self.template.__dict__.pop("param_values", None)  # a cached_property of the old values
        self.routes = gateway.routes(self.template)

    def _unlink(self) -> None:
        """Give the template back the parameters _link_here changed."""
        if self._linked:
            self.template.parameters.pop("PublicBaseUrl", None)
            self._linked = False
        if self._origins_added:
            if self._caller_origins is None:
                self.template.parameters.pop("AllowedOrigins", None)
            else:
                self.template.parameters["AllowedOrigins"] = self._caller_origins
            self._origins_added = False
        self.template.__dict__.pop("param_values", None)

    def _own_origins(self) -> list[str]:
        """The origins a browser uses for this stack: its URL, and localhost's when bound to loopback."""
        origins = [self.url]
        if self.host in {"127.0.0.1", "localhost"}:
            origins += [f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"]
        return list(dict.fromkeys(origins))

    def _environment(self, moto_url: str) -> None:
        """Point every boto3 and pynamodb client of this process at moto, with the template's environment."""
        wanted = {
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_REGION": self.template.region,
            "AWS_DEFAULT_REGION": self.template.region,
            **self.template.environment(),
        }
        for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            self._saved_env.setdefault(name, os.environ.pop(name, None))
        for name, value in wanted.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        _reset_caches()

    def stop(self) -> None:
        """Stop everything this stack started and give the process back its environment and clock."""
        if self._auto is not None:
            self._auto.stop()
        if self._http is not None:
            if self._http.serving:  # shutdown() would wait forever for a loop that never ran
                self._http.shutdown()
            self._http.server_close()
        if self._moto is not None:
            # The server stays up for the next stack of this process; this stack's state goes.
            self._moto.after_each_request(lambda: None)
            self._moto.reset()
            self._moto = None
        if self._previous_clock is not None:
            clock.use_clock(self._previous_clock)
            self._previous_clock = None
        self._restore_environment()
        self._unlink()
        _reset_caches()
        if self in _active:
            _active.remove(self)
        self._stopped.set()

    def _restore_environment(self) -> None:
        """os.environ as it was before start(), without what the last invocation of a function set."""
        for name in self._parts.runtime.applied_names() if self._parts else ():
            self._saved_env.setdefault(name, None)
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()

    def wait(self, ready: Callable[[], None] = lambda: None) -> None:
        """Call `ready`, then block until Ctrl-C, SIGTERM or stop() from another thread.

        The signal handlers are in place before `ready` runs, so a Ctrl-C right after "Ready" is
        printed still ends in a clean stop instead of a KeyboardInterrupt somewhere in between.
        """
        interrupted = threading.Event()
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                handlers[signum] = signal.signal(signum, lambda *_: interrupted.set())
        try:
            ready()
            while not (interrupted.is_set() or self._stopped.is_set()):
                interrupted.wait(0.2)
        finally:
            for signum, previous in handlers.items():
                signal.signal(signum, previous)

    # ---- what it serves ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def parts(self) -> StackParts:
        """Moto's resources, the runtime and the trigger runners; RuntimeError before start()."""
        if self._parts is None:
            raise RuntimeError("the local stack has not started: call start() first")
        return self._parts

    def control(self, method: str, path: str, query: dict[str, str], body: bytes) -> gateway.HttpAnswer:
        """Answer a request under /_local/ (the server's hook)."""
        return self._control.handle(method, path, query, body)

    # The parts callers reach for most, by their own names.
    @property
    def moto_url(self) -> str:
        return self.parts.moto_url

    @property
    def deployment(self) -> enforce.Deployment:
        return self.parts.deployment

    @property
    def runtime(self) -> Runtime:
        return self.parts.runtime

    @property
    def schedules(self) -> Schedules:
        return self.parts.schedules

    @property
    def queues(self) -> Queues:
        return self.parts.queues

    @property
    def buses(self) -> Buses:
        return self.parts.buses


def _reset_caches() -> None:
    reset_settings()
    aws.reset_clients()
    reset_connections()
    tokens.forget_key()  # each stack generates its own signing secret
    identity.forget_identity_key()  # and its own identity key


def _print(text: str) -> None:
    print(text, flush=True)  # noqa: T201 - the console is the local stack's log
    sys.stdout.flush()
