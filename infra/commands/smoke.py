"""`crm smoke --stack NAME [--region R] [--email ADDRESS]`: check that a deployed stack takes a lead.

It reads the stack's `HttpApiUrl` output, its `ContactsTable` and its `SenderAddress` parameter,
posts a lead as JSON to `<HttpApiUrl>/leads` with a new address each run, expects 201 (or 200) and a
`contact_id`, then reads that contact back from the table. The address is `--email` (or
$SMOKE_EMAIL) with `+smoke-<timestamp>` added to its local part, or `smoke+<timestamp>@DOMAIN` when
a bare domain is given, or at the SenderAddress domain by default. The lead is real: the contact
stays, and it gets the welcome series' first email (a service message, sent without consent).

The stack lookup, the HTTP post and the table read are passed in (`run_smoke`), so tests run the
whole flow without AWS or the network.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from infra.commands.target import UsageProblem, add_target_options, target_of
from infra.terminal import echo

API_OUTPUT = "HttpApiUrl"
CONTACTS_TABLE = "ContactsTable"
HTTP_TIMEOUT_SECONDS = 30


class SmokeFailed(Exception):
    """A step of the smoke check failed; the message says which and what was seen."""


@dataclass(frozen=True)
class StackInfo:
    """What the smoke check needs from a deployed stack."""

    api_url: str  # the HttpApiUrl output, without a trailing slash
    contacts_table: str  # physical name of ContactsTable
    sender_address: str | None  # the SenderAddress parameter, if the stack has one


@dataclass(frozen=True)
class Smoked:
    """What one smoke run posted and found."""

    email: str
    status: int
    contact_id: str
    contact: dict[str, Any]


StackLookup = Callable[[str], StackInfo]
PostJson = Callable[[str, dict[str, Any]], tuple[int, Any]]  # url, body -> (status, parsed JSON or text)
ReadContact = Callable[[str, str], dict[str, Any] | None]  # table, contact_id -> item or None


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "smoke", help="post a test lead to a deployed stack and read the contact back"
    )
    add_target_options(parser)
    parser.add_argument(
        "--email",
        default=os.environ.get("SMOKE_EMAIL") or None,
        help="address (gets +smoke-<time>) or domain (smoke+<time>@DOMAIN) for the test lead; "
        "default $SMOKE_EMAIL, else the stack's SenderAddress domain",
    )
    parser.set_defaults(run=run)


# ---- the flow ------------------------------------------------------------------------------------
def smoke_address(base: str | None, sender_address: str | None, *, now: float) -> str:
    """A new test address for this run (see the module docstring).

    Raises SmokeFailed when neither `base` nor the sender address gives a domain.
    """
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + f"{int(now * 1000) % 1000:03d}"
    if base and "@" in base:
        local, _, domain = base.rpartition("@")
        return f"{local}+smoke-{stamp}@{domain}"
    domain = base or (sender_address.rpartition("@")[2] if sender_address and "@" in sender_address else "")
    if not domain:
        raise SmokeFailed("no domain for the test address: pass --email ADDRESS or SMOKE_EMAIL=...")
    return f"smoke+{stamp}@{domain}"


def run_smoke(
    stack: str,
    *,
    lookup: StackLookup,
    post: PostJson,
    read_contact: ReadContact,
    email: str | None = None,
    now: float | None = None,
) -> Smoked:
    """Post a test lead to `stack`'s API and read its contact back from the contacts table.

    Raises SmokeFailed naming the step that failed (stack lookup, post, answer, or read back).
    """
    if not stack:
        raise SmokeFailed("no stack name: crm smoke --stack NAME (make smoke STACK=NAME)")
    info = lookup(stack)
    address = smoke_address(email, info.sender_address, now=time.time() if now is None else now)
    url = f"{info.api_url}/leads"
    body = {"email": address, "first_name": "Smoke", "last_name": "Test", "form_id": "smoke-test"}
    status, answer = post(url, body)
    if status not in (200, 201):
        raise SmokeFailed(f"POST {url} answered {status}, expected 201 or 200: {answer}")
    contact_id = answer.get("contact_id") if isinstance(answer, dict) else None
    if not isinstance(contact_id, str) or not contact_id:
        raise SmokeFailed(f"POST {url} answered {status} without a contact_id: {answer}")
    contact = read_contact(info.contacts_table, contact_id)
    if contact is None:
        raise SmokeFailed(f"contact {contact_id} is not in table {info.contacts_table} after {status}")
    if str(contact.get("email", "")).lower() != address.lower():
        raise SmokeFailed(f"contact {contact_id} holds {contact.get('email')!r}, not {address!r}")
    return Smoked(email=address, status=status, contact_id=contact_id, contact=contact)


# ---- AWS and HTTP --------------------------------------------------------------------------------
def cloudformation_lookup(region: str | None) -> StackLookup:
    """A StackLookup reading the stack with boto3 (the current credentials, `region` if given).

    The lookup raises SmokeFailed when the stack, its HttpApiUrl output or its ContactsTable is missing.
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    def lookup(stack: str) -> StackInfo:
        try:
            cloudformation = boto3.client("cloudformation", region_name=region)
            described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
            resource = cloudformation.describe_stack_resource(
                StackName=stack, LogicalResourceId=CONTACTS_TABLE
            )["StackResourceDetail"]
        except (ClientError, BotoCoreError) as exc:
            raise SmokeFailed(f"cannot read stack {stack}: {exc}") from exc
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        if API_OUTPUT not in outputs:
            raise SmokeFailed(
                f"stack {stack} ({described.get('StackStatus')}) has no output {API_OUTPUT}: "
                "is it deployed from this template?"
            )
        parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in described.get("Parameters", [])}
        return StackInfo(
            api_url=outputs[API_OUTPUT].rstrip("/"),
            contacts_table=resource["PhysicalResourceId"],
            sender_address=parameters.get("SenderAddress"),
        )

    return lookup


def post_json(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST `body` as JSON; (status, the answer's JSON or text). Any HTTP status is returned.

    Raises SmokeFailed when nothing answers (DNS, connection, timeout).
    """
    request = urllib.request.Request(  # noqa: S310 - the stack's https URL from its outputs
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"content-type": "application/json", "accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as answer:  # noqa: S310 - the stack's https URL from its outputs
            status, raw = int(answer.status), answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except OSError as exc:
        raise SmokeFailed(f"POST {url} got no answer: {exc}") from exc
    text = raw.decode("utf-8", errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def dynamodb_reader(region: str | None) -> ReadContact:
    """A ReadContact doing a consistent GetItem with boto3; the item as plain Python values.

    The reader raises SmokeFailed when DynamoDB refuses the read (permissions, missing table).
    """
    import boto3
    from boto3.dynamodb.types import TypeDeserializer
    from botocore.exceptions import BotoCoreError, ClientError

    deserializer = TypeDeserializer()

    def read(table: str, contact_id: str) -> dict[str, Any] | None:
        try:
            item = (
                boto3.client("dynamodb", region_name=region)
                .get_item(TableName=table, Key={"contact_id": {"S": contact_id}}, ConsistentRead=True)
                .get("Item")
            )
        except (ClientError, BotoCoreError) as exc:
            raise SmokeFailed(f"cannot read contact {contact_id} from {table}: {exc}") from exc
        if item is None:
            return None
        return {key: deserializer.deserialize(value) for key, value in item.items()}

    return read


def run(args: argparse.Namespace) -> int:
    """`crm smoke`: 0 when the lead went in and came back out, 1 with the failed step otherwise."""
    target = target_of(args)
    if target.local:
        raise UsageProblem("crm smoke checks a deployed stack: pass --stack NAME (make smoke STACK=NAME)")
    target.session()  # no credentials or region: the one-line hint, before any call
    try:
        smoked = run_smoke(
            target.stack,
            lookup=cloudformation_lookup(target.region),
            post=post_json,
            read_contact=dynamodb_reader(target.region),
            email=args.email,
        )
    except SmokeFailed as exc:
        echo(f"smoke FAILED: {exc}")
        return 1
    shown = {k: smoked.contact.get(k) for k in ("contact_id", "email", "first_name", "created_at")}
    echo(f"smoke ok: POST /leads {smoked.status} for {smoked.email}")
    echo(f"contact in the table: {json.dumps(shown, default=str, ensure_ascii=False)}")
    return 0
