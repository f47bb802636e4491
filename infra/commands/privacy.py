"""`crm contacts export EMAIL|ID` and `crm contacts erase EMAIL|ID`: the data-rights API, from a terminal.

They call the HTTP API (`POST /contacts/{id}/export` or `/erasure`, then `GET /privacy-requests/{id}`
until it is done) of the target every command takes: the local stack (default; `--endpoint URL` or
$CRM_ENDPOINT), or a deployed stack (`--stack NAME`), whose API is found from the stack and whose
IAM-authorized routes get requests signed (SigV4) with your AWS credentials. A local stack runs the
queued request at once (`--wait` delivers its queue). An address is turned into its contact id by the
same API (`GET /contacts?email=`): ids are keyed by the stack's identity key, which the command never reads.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from infra.commands.target import CliError, Target, add_target_options, contact_id_of, target_of
from infra.terminal import echo, echo_json

WAIT_SECONDS = 300  # --wait gives up after this long and says how to look again


def register_under_contacts(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `export` and `erase` to `crm contacts` (not a `register`: they are no top-level commands)."""
    export = sub.add_parser(
        "export", help="everything stored about a person, as a download link (GDPR Art. 15/20)"
    )
    erase = sub.add_parser("erase", help="erase a person from every table and bucket (GDPR Art. 17)")
    for parser in (export, erase):
        parser.add_argument("who", metavar="WHO", help="the person's email address or contact id (ct_...)")
        parser.add_argument("--wait", action="store_true", help="wait until the request is done")
        add_target_options(parser, json=True)
    export.add_argument("--key", help="Idempotency-Key (default: one export per person and day)")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    export.set_defaults(run=lambda args: _run(args, "export"))
    erase.set_defaults(run=lambda args: _run(args, "erasure"))


def contact_id(api: _Api, who: str) -> str:
    """The contact id `who` names: itself, or the contact of an address as the stack's API finds it
    (`GET /contacts?email=`: ids are keyed by the stack's identity key, which this command need not read).

    Raises CliError when no contact has the address.
    """
    if "@" not in who:
        return contact_id_of(who)  # an id as given; anything else is a usage problem
    status, body = api.call("GET", "/contacts?" + urllib.parse.urlencode({"email": who}))
    if status == 404:
        raise CliError(f"{who} is not a contact of {api.target.describe()}: check the address")
    if status >= 400 or not isinstance(body.get("contact_id"), str):
        problems = "; ".join(e.get("message", "") for e in body.get("errors", [])) or f"HTTP {status}"
        raise CliError(f"looking up {who} failed ({status}): {problems}")
    return str(body["contact_id"])


class _Api:
    """The target's HTTP API: the local stack's client, or the deployed API with SigV4 signatures."""

    def __init__(self, target: Target) -> None:
        self.target = target
        if target.local:
            self.client = target.client()
            return
        session = target.session()
        api_id = target.resources(session).get("HttpApi")
        if not api_id:
            raise CliError(f"stack {target.stack} has no HttpApi: is it a stack of this template?")
        self.session = session
        self.base = f"https://{api_id}.execute-api.{session.region_name}.amazonaws.com"

    def call(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        if self.target.local:
            body: dict[str, Any] | None = {} if method == "POST" else None
            answer = self.client.request(method, path, json=body, headers=headers)
            return answer.status, (answer.json() if answer.content else {})
        return self._signed_call(method, path, headers or {})

    def drain(self) -> None:
        """The local stack delivers its queues on demand; AWS delivers them by itself."""
        if self.target.local:
            self.client.post("/_local/queues/PrivacyQueue", data=b"")

    def _signed_call(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        url, data = self.base + path, (b"{}" if method == "POST" else None)
        request = AWSRequest(
            method=method, url=url, data=data, headers={"content-type": "application/json", **headers}
        )
        SigV4Auth(self.session.get_credentials(), "execute-api", self.session.region_name).add_auth(request)
        sent = urllib.request.Request(url, data=data, method=method, headers=dict(request.headers.items()))  # noqa: S310 - the URL is the stack's https API
        try:
            with urllib.request.urlopen(sent, timeout=60) as response:  # noqa: S310 - the stack's own API
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except urllib.error.URLError as exc:
            raise CliError(
                f"cannot reach {self.base} ({exc.reason}): check the stack and your network"
            ) from None


def _run(args: argparse.Namespace, kind: str) -> int:
    api = _Api(target_of(args))
    cid = contact_id(api, args.who)
    if kind == "erasure" and not args.yes and not _confirmed(cid):
        echo("Nothing erased.")
        return 1
    headers = {"Idempotency-Key": args.key} if kind == "export" and args.key else {}
    status, body = api.call("POST", f"/contacts/{cid}/{kind}", headers)
    if status >= 400:
        problems = "; ".join(e.get("message", "") for e in body.get("errors", [])) or f"HTTP {status}"
        raise CliError(f"{kind} refused ({status}): {problems}")
    if args.wait:
        body = _wait(api, kind, body)
    if args.json:
        echo_json(body)
    else:
        echo(f"{kind} {body['request_id']}: {body['status']}")
        if body.get("download_url"):
            echo(f"download (valid {body['download_expires_in']} s): {body['download_url']}")
    return 0


def _confirmed(cid: str) -> bool:
    answer = input(f"Erase contact {cid} from every table and bucket? This cannot be undone. [y/N] ")
    return answer.strip().lower() in {"y", "yes"}


def _wait(api: _Api, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The request's status once it is done; raises CliError when it failed or took too long."""
    deadline = time.monotonic() + WAIT_SECONDS
    while body.get("status") != "done":
        if body.get("status") == "failed" or time.monotonic() > deadline:
            raise CliError(
                f"{kind} {body.get('request_id')} is {body.get('status')}: look again with "
                f"GET {body.get('status_url')}"
            )
        api.drain()
        time.sleep(1)
        _, body = api.call("GET", body["status_url"])
    return body
