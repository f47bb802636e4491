"""The local stack: moto + the template's resources + the HTTP gateway + trigger runners + a movable clock."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

from crm_core import aws, clock
from crm_core.contacts import identity
from crm_core.messaging import tokens
from crm_core.models import reset_connections
from crm_core.settings import reset_settings
from infra import business_files
from infra.aws_rules import enforce
from infra.local import gateway, server, triggers
from infra.local.motoserver import MotoServer
from infra.local.outbox import Outbox
from infra.local.runtime import Runtime
from infra.provision import provision
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
        self._saved_env: dict[str, str | None] = {}
        self._previous_clock: clock.Clock | None = None
        self._origins_added = False  # this stack added its origin to AllowedOrigins (stop() restores)
        self._caller_origins: str | None = None
        self._moto: MotoServer | None = None
        self._http: server.LocalHTTPServer | None = None
        self._auto: triggers.AutoScheduler | None = None
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
        self.deployment = enforce.Deployment(self.template)
        self.deployment.roles  # noqa: B018 - transform now: refuse to start on a template AWS refuses
        self.outbox = Outbox(self.template.region, self.clock.now)
        self._moto = MotoServer.shared()
        self.moto_url = self._moto.url
        self._moto.reset()
        self._moto.after_each_request(self.outbox.stamp_new)
        self._environment()
        self._previous_clock = clock.use_clock(self.clock)
        session = boto3.Session(region_name=self.template.region)
        config = Config(retries={"mode": "standard", "max_attempts": 2})
        self.sqs = session.client("sqs", endpoint_url=self.moto_url, config=config)
        self.sns = session.client("sns", endpoint_url=self.moto_url, config=config)
        self.s3 = session.client("s3", endpoint_url=self.moto_url, config=config)
        self.created = provision(self.template, session)
        self.runtime = Runtime(
            self.template, dict(os.environ), self.log, self.env_overrides, deployment=self.deployment
        )
        self.schedules = triggers.Schedules(self.template, self.runtime)
        self.queues = triggers.Queues(self.template, self.runtime, self.sqs)
        self.topics = triggers.Topics(self.template, self.runtime, self.sns)
        self.buckets = triggers.Buckets(self.template, self.runtime, self.s3)
        self.inbox = triggers.Inbox(self.template, self.runtime, self.buckets, self.topics)
        self.runtime.send_to_destination = triggers.destination_sender(self.sqs, self.topics, self.runtime)
        self.buses = triggers.Buses(self.template, self.runtime)
        self.buses.listen(boto3._get_default_session())  # the functions' clients come from it
        self.runtime.after_invocation = self.buses.flush
        self.control = server.ControlRoutes(self)
        server.serve_in_thread(self._http)
        if self.auto_schedules:
            self._auto = triggers.AutoScheduler(self.schedules, self.log)
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
        if getattr(self, "_linked", False):
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

    def _environment(self) -> None:
        """Point every boto3 and pynamodb client of this process at moto, with the template's environment."""
        wanted = {
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.moto_url,
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
        runtime_env = getattr(getattr(self, "runtime", None), "_applied", {})
        for name in runtime_env:
            self._saved_env.setdefault(name, None)
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        self._unlink()
        _reset_caches()
        if self in _active:
            _active.remove(self)
        self._stopped.set()

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

    def openapi(self) -> gateway.HttpAnswer:
        """GET /openapi.json: the document infra.openapi builds, once that module exists."""
        if importlib.util.find_spec("infra.openapi") is None:
            return gateway.error_answer(
                404, "infra/openapi.py does not exist yet: no OpenAPI document to serve"
            )
        module: Any = importlib.import_module("infra.openapi")
        document = module.build_document()
        body = document if isinstance(document, str) else json.dumps(document, indent=2)
        return gateway.HttpAnswer(200, [("content-type", "application/json")], body.encode())

    def banner(self) -> str:
        """What the stack serves, for the console."""
        lines = [
            f"CRM local stack on {self.url}  (started in {self.startup_seconds:.1f} s)",
            "template.yaml passed the SAM transform; every AWS call a function makes is checked against",
            "the IAM role SAM generates for it (a denied call fails with AccessDenied, as on AWS).",
            "",
        ]
        lines.append("HTTP API (template.yaml):")
        for route in self.routes or []:
            auth = "  [AWS_IAM: signatures not checked locally]" if route.iam else ""
            lines.append(f"  {route.method:6} {route.path:45} -> {route.function}{auth}")
        if not self.routes:
            lines.append("  (no HttpApi routes in the template yet)")
        lines += ["", "Pages: /  (examples/lead-form/index.html), /examples/..., /openapi.json", ""]
        mode = "by the local clock" if self.auto_schedules else "on demand: POST /_local/schedules/{Function}"
        lines.append(f"Schedules ({mode}):")
        for schedule in self.schedules.items or []:
            note = f"  ! {schedule.problem}" if schedule.problem else ""
            lines.append(f"  {schedule.function}.{schedule.event:20} {schedule.expression}{note}")
        if not self.schedules.items:
            lines.append("  (none yet)")
        lines.append("Queues (POST /_local/queues/{LogicalId}):")
        for info in self.queues.items.values():
            consumers = ", ".join(c.function for c in info.consumers) or "no consumer"
            dlq = f", DLQ {info.dlq} after {info.max_receive} receives" if info.dlq else ""
            lines.append(f"  {info.logical_id:28} -> {consumers}{dlq}")
        lines.append("Topics (POST /_local/topics/{LogicalId}):")
        for topic, subscribers in self.topics.subscribers.items():
            lines.append(f"  {topic:28} -> {', '.join(subscribers) or 'no subscriber'}")
        rules = ", ".join(rule_id for rule_id, _ in self.inbox.rules) or "no receipt rule yet"
        lines.append(f"SES inbound (POST /_local/inbox): {rules}")
        lines += [
            "",
            f"Local control: {self.url}/_local  (outbox, inbox, clock, schedules, queues, topics)",
            f"Clock: {self.clock.now().strftime('%Y-%m-%dT%H:%M:%SZ')} (GET/POST /_local/clock)",
            f"moto: {self.moto_url}  (AWS_ENDPOINT_URL for boto3 and the aws CLI)",
        ]
        return "\n".join(lines)


def _reset_caches() -> None:
    reset_settings()
    aws.reset_clients()
    reset_connections()
    tokens.forget_key()  # each stack generates its own signing secret
    identity.forget_identity_key()  # and its own identity key


def _print(text: str) -> None:
    print(text, flush=True)  # noqa: T201 - the console is the local stack's log
    sys.stdout.flush()
