"""Run the template's functions in this process, as Lambda would run them.

Each handler file is imported once per process under a module name of its own (like Lambda, which
imports `app` once per instance), with the function's environment in effect. Invocations are
serialized by one lock: every function behaves as a single warm Lambda instance, and os.environ
(which holds the running function's environment) is never shared by two invocations at once.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from crm_core import clock
from crm_core.contacts import identity
from crm_core.messaging import tokens
from crm_core.settings import reset_settings
from infra.aws_rules.enforce import Deployment, acting_as
from infra.local import events
from infra.template import Function, Template

_modules: dict[Path, ModuleType] = {}  # handler file -> its module, for the life of the process
_import_lock = threading.Lock()


@dataclass
class LambdaContext:
    """The context object the Python runtime passes as the handler's second argument."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    timeout_seconds: int
    log_group_name: str = ""
    log_stream_name: str = ""
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.log_stream_name or f"local/[$LATEST]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    """One attempt: what the handler answered, or the error it raised (in Lambda's error shape)."""

    function: str
    request_id: str
    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class AsyncOutcome:
    """An asynchronous invocation with Lambda's retries, and where its record went."""

    function: str
    request_id: str
    attempts: int
    last: Invocation
    destination: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "request_id": self.request_id,
            "status": "succeeded" if self.last.ok else "failed",
            "attempts": self.attempts,
            "result": self.last.result,
            "error": self.last.error,
            "destination": self.destination,
            "duration_ms": round(self.last.duration_ms, 1),
        }


Sender = Callable[[str, str, dict[str, Any]], dict[str, str]]  # (kind, arn, record) -> where it went


class Runtime:
    """Invokes the functions of one template: synchronously (HTTP, SQS) or asynchronously."""

    def __init__(
        self,
        template: Template,
        base_env: Mapping[str, str],
        log: Callable[[str], None],
        overrides: Mapping[str, str] | None = None,
        deployment: Deployment | None = None,
    ) -> None:
        self.template = template
        self.deployment = deployment  # when given, each invocation runs under its function's IAM role
        self._overrides = dict(overrides or {})
        self.functions: dict[str, Function] = template.functions()
        self.lock = threading.RLock()
        self._base_env = dict(base_env)
        self._applied: dict[str, str] = {}
        self._log = log
        self.send_to_destination: Sender | None = None
        # Runs after each invocation, outside it: events a function put on a bus are delivered then.
        self.after_invocation: Callable[[], object] | None = None
        globals_ = template.body.get("Globals", {}).get("Function", {})
        self._defaults = {
            "Timeout": globals_.get("Timeout", 3),
            "MemorySize": globals_.get("MemorySize", 128),
        }

    # ---- naming ----------------------------------------------------------------------------------
    def arn(self, logical_id: str) -> str:
        return self.template.arn(logical_id)

    def function_for_arn(self, arn: str) -> str | None:
        """The logical id of the function an ARN (possibly qualified with :$LATEST or an alias) names."""
        for logical_id in self.functions:
            base = self.arn(logical_id)
            if arn == base or arn.startswith(base + ":"):
                return logical_id
        return None

    def setting(self, logical_id: str, name: str) -> Any:
        return self.functions[logical_id].properties.get(name, self._defaults.get(name))

    # ---- environment and handlers ----------------------------------------------------------------
    def environment(self, logical_id: str) -> dict[str, str]:
        """The function's environment: the template's (Globals + its own) and what the runtime adds."""
        function = self.functions[logical_id]
        name = self.template.physical_name(logical_id)
        module, _, _ = str(function.properties["Handler"]).rpartition(".")
        return {
            **function.environment,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.setting(logical_id, "MemorySize")),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "_HANDLER": f"{module}.{function.handler_name}",
            **self._overrides,
        }

    def applied_names(self) -> list[str]:
        """The environment variables the last invocation set in os.environ (a stopping stack clears them)."""
        return list(self._applied)

    def _apply_environment(self, logical_id: str) -> None:
        wanted = self.environment(logical_id)
        if wanted == self._applied:
            return
        for key in set(self._applied) - set(wanted):
            if key in self._base_env:
                os.environ[key] = self._base_env[key]
            else:
                os.environ.pop(key, None)
        os.environ.update(wanted)
        self._applied = wanted
        reset_settings()

    def handler(self, logical_id: str) -> Callable[[Any, Any], Any]:
        """The function's handler, importing its file on first use (call with the lock held)."""
        function = self.functions[logical_id]
        path = function.handler_path.resolve()
        with _import_lock:
            module = _modules.get(path)
            if module is None:
                module = _import(path, f"crm_local_{function.logical_id}_{len(_modules)}")
                _modules[path] = module
        handler = getattr(module, function.handler_name, None)
        if not callable(handler):
            raise RuntimeError(f"{path} has no callable {function.handler_name}")
        return handler  # type: ignore[no-any-return]

    def preload(self) -> list[str]:
        """Import every handler now, so a broken one shows at start; returns the functions that failed."""
        failed = []
        for logical_id in self.functions:
            with self.lock:
                self._apply_environment(logical_id)
                try:
                    self.handler(logical_id)
                except Exception:  # noqa: BLE001 - reported, and the stack serves the other functions
                    self._log(f"[{logical_id}] cannot import its handler:\n{traceback.format_exc().rstrip()}")
                    failed.append(logical_id)
        return failed

    # ---- invoking --------------------------------------------------------------------------------
    def invoke(self, logical_id: str, event: Any, request_id: str | None = None) -> Invocation:
        """One synchronous invocation; a raised exception becomes Lambda's error payload."""
        request_id = request_id or str(uuid.uuid4())
        invocation = Invocation(function=logical_id, request_id=request_id)
        with self.lock:
            self._apply_environment(logical_id)
            context = LambdaContext(
                function_name=self.template.physical_name(logical_id),
                memory_limit_in_mb=int(self.setting(logical_id, "MemorySize")),
                invoked_function_arn=self.arn(logical_id),
                aws_request_id=request_id,
                timeout_seconds=int(self.setting(logical_id, "Timeout")),
            )
            started = time.perf_counter()
            role = acting_as(self.deployment, logical_id) if self.deployment else contextlib.nullcontext()
            if self.deployment:
                tokens.forget_key()  # each function is its own instance on AWS: fetch the key under its role
                identity.forget_identity_key()
            try:
                with role:
                    invocation.result = self.handler(logical_id)(event, context)
            except Exception as exc:  # noqa: BLE001 - Lambda turns any exception into an error payload
                invocation.error = {
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "requestId": request_id,
                    "stackTrace": [line.strip() for line in traceback.format_tb(exc.__traceback__)],
                }
                self._log(f"[{logical_id}] {request_id} failed:\n{traceback.format_exc().rstrip()}")
            finally:
                invocation.duration_ms = (time.perf_counter() - started) * 1000
        if self.after_invocation is not None:
            self.after_invocation()
        timeout_ms = int(self.setting(logical_id, "Timeout")) * 1000
        if invocation.duration_ms > timeout_ms:
            self._log(f"[{logical_id}] ran {invocation.duration_ms:.0f} ms, over its {timeout_ms} ms Timeout")
        return invocation

    def invoke_async(self, logical_id: str, event: Any) -> AsyncOutcome:
        """Invoke as an asynchronous trigger does: retry per EventInvokeConfig, then the destination.

        Lambda waits about a minute, then two, between retries; locally they follow at once.
        """
        config = self.setting(logical_id, "EventInvokeConfig") or {}
        retries = int(config.get("MaximumRetryAttempts", 2))
        request_id = str(uuid.uuid4())  # Lambda keeps one request id across the retries
        attempts, invocation = 0, Invocation(function=logical_id, request_id=request_id)
        for _ in range(retries + 1):
            attempts += 1
            invocation = self.invoke(logical_id, event, request_id)
            if invocation.ok:
                break
        outcome = AsyncOutcome(logical_id, request_id, attempts, invocation)
        destinations = config.get("DestinationConfig", {})
        key, condition = ("OnSuccess", "Success") if invocation.ok else ("OnFailure", "RetriesExhausted")
        target = destinations.get(key)
        if target and self.send_to_destination is not None:
            record = events.destination_record(
                request_payload=event,
                function_arn=self.arn(logical_id),
                request_id=request_id,
                condition=condition,
                attempts=attempts,
                response=invocation.result if invocation.ok else invocation.error,
                failed=not invocation.ok,
                at=clock.now(),
            )
            arn = str(self.template.resolve(target.get("Destination", "")))
            outcome.destination = self.send_to_destination(str(target.get("Type", "SQS")), arn, record)
        elif not invocation.ok:
            dead_letter = self.setting(logical_id, "DeadLetterQueue")
            if dead_letter and self.send_to_destination is not None:
                arn = str(self.template.resolve(dead_letter.get("TargetArn", "")))
                outcome.destination = self.send_to_destination(
                    str(dead_letter.get("Type", "SQS")), arn, event
                )
        return outcome


def _import(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pydantic models look their module up while defined
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
