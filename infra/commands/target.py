"""Which deployment a `crm` command talks to, chosen the same way by every command, and its errors.

    --stack local            the local stack (`make up`), at --endpoint URL (default http://127.0.0.1:3000)
    --stack NAME             a deployed CloudFormation stack; its resources are found from the stack
    $CRM_STACK, $CRM_ENDPOINT the defaults of those two options

A command module calls `add_target_options(parser)` when it registers and `target_of(args)` when it
runs. Then, with the Target:
- `client()`: a LocalClient of the local stack (it answers, or Unreachable is raised);
- `connect()`: point this process's crm_core (settings, boto3 clients, PynamoDB, the clock) at the
  deployment's data: the local stack's moto server and movable clock, or the stack's tables and
  queues with the current AWS credentials. The business-edited files are checked first.

Errors a user can fix are CliError subclasses carrying their exit code (see EXIT_CODES); infra/cli.py
prints them as one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.local.client import LocalClient

DEFAULT_ENDPOINT = "http://127.0.0.1:3000"
LOCAL = "local"

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_PAUSED = 0, 1, 2, 3, 4
EXIT_CODES = {
    EXIT_OK: "done",
    EXIT_FAILED: "the operation failed, or part of it did (a row refused, an adjustment parked)",
    EXIT_USAGE: "usage: an unknown option, a missing argument, a value the command refuses",
    EXIT_UNREACHABLE: "the target is unreachable: no local stack answers, no AWS credentials or region, "
    "no such stack",
    EXIT_PAUSED: "`crm migrate run` paused (--max-pages reached): run it again to resume",
}


class CliError(Exception):
    """A problem the user can fix: one sentence saying what and how; `exit_code` is what crm returns."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageProblem(CliError):
    exit_code = EXIT_USAGE


class Unreachable(CliError):
    exit_code = EXIT_UNREACHABLE


def add_target_options(parser: argparse.ArgumentParser, *, json: bool = False) -> None:
    """The target options every command that talks to a deployment takes (and `--json` for reads)."""
    group = parser.add_argument_group("target (the same on every command)")
    group.add_argument(
        "--stack",
        default=os.environ.get("CRM_STACK") or LOCAL,
        metavar="NAME",
        help="'local' for the local stack (default; $CRM_STACK sets another default), "
        "or the name of a deployed CloudFormation stack",
    )
    group.add_argument(
        "--endpoint",
        default=os.environ.get("CRM_ENDPOINT") or DEFAULT_ENDPOINT,
        metavar="URL",
        help=f"the local stack's URL (default {DEFAULT_ENDPOINT}, or $CRM_ENDPOINT)",
    )
    group.add_argument(
        "--region",
        default=None,
        help="a deployed stack's AWS region (default: $AWS_REGION or your AWS configuration's)",
    )
    if json:
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")


@dataclass
class Target:
    """A local stack (`stack == "local"`, at `endpoint`) or a deployed CloudFormation stack."""

    stack: str = LOCAL
    endpoint: str = DEFAULT_ENDPOINT
    region: str | None = None
    _info: dict[str, Any] | None = field(default=None, repr=False)
    _resources: dict[str, str] | None = field(default=None, repr=False)

    @property
    def local(self) -> bool:
        return self.stack == LOCAL

    def describe(self) -> str:
        return f"the local stack at {self.endpoint}" if self.local else f"stack {self.stack}"

    def require_local(self, what: str) -> None:
        """Raises UsageProblem when `what` only exists on a local stack."""
        if not self.local:
            raise UsageProblem(
                f"{what} exists only on a local stack: leave out --stack (or use --stack local)"
            )

    # ---- a local stack ---------------------------------------------------------------------------
    def client(self, timeout: float = 30) -> LocalClient:
        """The local stack's HTTP client, once it answered; raises Unreachable when it does not."""
        from infra.local.client import LocalClient

        self.require_local("this command's HTTP view")
        client = LocalClient(self.endpoint, timeout=timeout)
        self.info(client)
        return client

    def info(self, client: LocalClient | None = None) -> dict[str, Any]:
        """What `GET /_local` says (moto endpoint, region, clock); raises Unreachable."""
        from infra.local.client import LocalClient, LocalStackError

        if self._info is None:
            try:
                self._info = (client or LocalClient(self.endpoint, timeout=10)).info()
            except (OSError, LocalStackError, ValueError) as exc:
                raise Unreachable(
                    f"no local stack answers at {self.endpoint} ({_short(exc)}): start one with `make up` "
                    "in another terminal, or pass --endpoint URL / --stack NAME"
                ) from None
        return self._info

    def follow_clock(self) -> None:
        """Use the local stack's movable clock in this process (a no-op for a deployed stack, and in
        the stack's own process, the demo's, whose clock already is the stack's)."""
        if not self.local or self._serves_this_process():
            return
        from crm_core import clock

        stack_clock = clock.MovableClock()
        stack_clock.set(clock.parse_instant(str(self.info()["clock"])))
        clock.use_clock(stack_clock)

    def _serves_this_process(self) -> bool:
        running = sys.modules.get("infra.local.stack")
        return running is not None and any(
            s.url.rstrip("/") == self.endpoint.rstrip("/") for s in getattr(running, "_active", [])
        )

    # ---- a deployed stack ------------------------------------------------------------------------
    def session(self) -> Any:
        """A boto3 session in the target's region; raises Unreachable without credentials or region."""
        import boto3

        session = boto3.Session(region_name=self.region) if self.region else boto3.Session()
        if session.get_credentials() is None:
            raise Unreachable(
                "no AWS credentials: run `aws configure` (or `aws sso login`), or set AWS_PROFILE"
            )
        if not session.region_name:
            raise Unreachable("no AWS region: pass --region REGION or set AWS_REGION")
        return session

    def resources(self, session: Any = None) -> dict[str, str]:
        """Logical id -> physical id of the stack's resources; raises Unreachable for a missing stack."""
        if self._resources is None:
            from botocore.exceptions import BotoCoreError, ClientError

            session = session or self.session()
            try:
                pages = session.client("cloudformation").get_paginator("list_stack_resources")
                self._resources = {
                    r["LogicalResourceId"]: r["PhysicalResourceId"]
                    for page in pages.paginate(StackName=self.stack)
                    for r in page["StackResourceSummaries"]
                }
            except (ClientError, BotoCoreError) as exc:
                raise Unreachable(
                    f"cannot read stack {self.stack} ({_short(exc)}): check the name, the region "
                    "(--region) and your AWS credentials"
                ) from None
        return self._resources

    def contact_id(self, address: str) -> str:
        """The contact id of `address` in this deployment: a keyed hash under its identity key, read from
        its IdentityKeySecret once this process is connected to it (`connect`).

        Raises Unreachable when the target does not answer, botocore's ClientError when the secret cannot
        be read (deployed: your credentials need secretsmanager:GetSecretValue on it).
        """
        from crm_core.contacts.identity import contact_id_for

        self.connect()
        return contact_id_for(address)

    # ---- this process, pointed at the deployment's data ----------------------------------------
    def connect(self) -> None:
        """Point crm_core at the deployment's data (see the module docstring).

        Raises CliError for a broken business-edited file, Unreachable when the target does not answer.
        """
        from crm_core import aws
        from crm_core.contacts import identity
        from crm_core.models import reset_connections
        from crm_core.settings import reset_settings
        from infra import business_files
        from infra.template import Template

        business_files.check()
        template = Template()
        if self.local:
            info = self.info()
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
            region = str(info.get("region", template.region))
            os.environ.update(
                AWS_ENDPOINT_URL=str(info["moto_endpoint"]),
                AWS_REGION=region,
                AWS_DEFAULT_REGION=region,
                **template.environment(),
            )
            self.follow_clock()
        else:
            session = self.session()
            os.environ.update(AWS_REGION=session.region_name, AWS_DEFAULT_REGION=session.region_name)
            os.environ.update(deployed_environment(template, self.resources(session)))
        reset_settings()
        aws.reset_clients()
        reset_connections()
        identity.forget_identity_key()  # the key of the deployment just connected


def deployed_environment(template: Any, physical: dict[str, str]) -> dict[str, str]:
    """The Globals variables that name a stack resource (`!Ref Table`), with the deployed names."""
    env = {}
    for name, value in template.body["Globals"]["Function"]["Environment"]["Variables"].items():
        if isinstance(value, dict) and value.get("Ref") in physical:
            env[name] = physical[value["Ref"]]
    return env


class InProcess(Target):
    """The deployment this process's environment already names (tests on moto): nothing to connect."""

    def __init__(self) -> None:
        super().__init__(stack="(this process)")

    @property
    def local(self) -> bool:
        return False

    def connect(self) -> None:
        from infra import business_files

        business_files.check()


_override: Target | None = None  # tests set it (InProcess) to run commands on their own moto


def target_of(args: argparse.Namespace) -> Target:
    """The Target the parsed options name."""
    if _override is not None:
        return _override
    stack = (getattr(args, "stack", None) or LOCAL).strip()
    endpoint = getattr(args, "endpoint", None) or DEFAULT_ENDPOINT
    if not endpoint.startswith(("http://", "https://")):
        raise UsageProblem(f"--endpoint {endpoint!r} is not a URL: use http://HOST:PORT")
    return Target(stack=stack, endpoint=endpoint.rstrip("/"), region=getattr(args, "region", None))


def contact_id_of(address_or_id: str) -> str:
    """The contact id a command argument names: an id (ct_...) as given, an email address (any spelling)
    as its contact's id. Raises UsageProblem for anything else."""
    who = address_or_id.strip()
    if "@" in who:
        from crm_core.contacts.identity import contact_id_for

        return contact_id_for(who)
    if who.startswith("ct_"):
        return who
    raise UsageProblem(f"{address_or_id!r} is neither an email address nor a contact id (ct_...)")


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "reason", None) or exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
