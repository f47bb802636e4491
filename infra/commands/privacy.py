"""`crm contacts export EMAIL|ID` and `crm contacts erase EMAIL|ID`: the data-rights API, from a terminal.

They call the HTTP API (`POST /contacts/{id}/export` or `/erasure`, then `GET /privacy-requests/{id}`
until it is done): a local stack's URL (default http://127.0.0.1:3000 or $CRM_ENDPOINT), or a
deployed API's URL, whose IAM-authorized routes get requests signed (SigV4) with the current AWS
credentials. A local stack runs the queued request at once (`--wait` delivers its queue).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from infra.terminal import echo, echo_json

DEFAULT_ENDPOINT = "http://127.0.0.1:3000"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `export` and `erase` to `crm contacts`."""
    export = sub.add_parser(
        "export", help="everything stored about a person, as a download link (GDPR Art. 15/20)"
    )
    erase = sub.add_parser("erase", help="erase a person from every table and bucket (GDPR Art. 17)")
    for parser in (export, erase):
        parser.add_argument("who", help="the person's email address or contact id")
        parser.add_argument(
            "--url", default=os.environ.get("CRM_ENDPOINT", DEFAULT_ENDPOINT), help="API base URL"
        )
        parser.add_argument("--wait", action="store_true", help="wait until the request is done")
        parser.add_argument("--json", action="store_true", help="print the request's status as JSON")
    export.add_argument("--key", help="Idempotency-Key (default: one export per person and day)")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    export.set_defaults(run=lambda args: _run(args, "export"))
    erase.set_defaults(run=lambda args: _run(args, "erasure"))


def contact_id(who: str) -> str:
    from crm_core.contacts.identity import contact_id_for

    return contact_id_for(who) if "@" in who else who


def _run(args: argparse.Namespace, kind: str) -> int:
    cid = contact_id(args.who)
    if kind == "erasure" and not args.yes:
        answer = input(f"Erase contact {cid} from every table and bucket? This cannot be undone. [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            echo("Nothing erased.")
            return 1
    headers = {"Idempotency-Key": args.key} if kind == "export" and args.key else {}
    status, body = call(args.url, "POST", f"/contacts/{cid}/{kind}", headers)
    if status >= 400:
        echo(f"{kind} refused ({status}): " + "; ".join(e["message"] for e in body.get("errors", [])))
        return 1
    while args.wait and body.get("status") != "done":
        if urllib.parse.urlsplit(args.url).hostname in {h.strip("[]") for h in LOCAL_HOSTS}:
            call(
                args.url, "POST", "/_local/queues/PrivacyQueue", body=b""
            )  # the local stack delivers on demand
        time.sleep(1)
        _, body = call(args.url, "GET", body["status_url"])
    if args.json:
        echo_json(body)
    else:
        echo(f"{kind} {body['request_id']}: {body['status']}")
        if body.get("download_url"):
            echo(f"download (valid {body['download_expires_in']} s): {body['download_url']}")
    return 0


def call(
    url: str, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"{}"
) -> tuple[int, dict[str, Any]]:
    """One request to the API; signed with SigV4 (execute-api) unless it goes to a local stack."""
    target = url.rstrip("/") + path
    sent = {"content-type": "application/json", **(headers or {})}
    data = body if method == "POST" else None
    if urllib.parse.urlsplit(target).hostname not in {h.strip("[]") for h in LOCAL_HOSTS}:
        sent = _signed(method, target, sent, data)
    request = urllib.request.Request(target, data=data, method=method, headers=sent)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - an operator-given URL
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _signed(method: str, url: str, headers: dict[str, str], data: bytes | None) -> dict[str, str]:
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = boto3.Session()
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(session.get_credentials(), "execute-api", session.region_name or "eu-west-1").add_auth(request)
    return dict(request.headers.items())
