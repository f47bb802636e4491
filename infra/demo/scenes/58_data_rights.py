"""Data rights: a customer's export, then their erasure, and a full read of every store finds nothing."""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any

from crm_core.contacts.identity import contact_id_for

if TYPE_CHECKING:
    from infra.local.client import LocalClient

EMAIL = "Greta.Vergessen@example.de"
FIRST, LAST, PHONE = "Greta", "Vergessen", "+49 151 2345 6789"
QUEUE = "PrivacyQueue"


def play(local: LocalClient) -> None:
    earlier = local.now()
    local.set_clock("2026-11-24T10:00:00Z")
    contact_id = contact_id_for(EMAIL)
    everything_about_greta(local)
    export(local, contact_id)
    erase(local, contact_id)
    prove(local, contact_id)
    local.set_clock(earlier)


def everything_about_greta(local: LocalClient) -> None:
    lead = {"email": EMAIL, "first_name": FIRST, "last_name": LAST, "phone": PHONE, "consent": True}
    assert local.post("/leads", json=lead).status == 201
    order = {
        "event_id": "evt-dr-1",
        "type": "purchase",
        "order_id": "M-1",
        "email": EMAIL,
        "amount": "80.00",
        "currency": "EUR",
        "occurred_at": "2026-11-24T09:00:00Z",
    }
    local.send_to_queue("OrdersQueue", order)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = f"{FIRST} {LAST} <{EMAIL}>", "support@example.com", "Rechnung"
    mail["Message-ID"] = make_msgid(domain="mail.example.de")
    mail.set_content(f"Guten Tag, hier {FIRST} {LAST} ({PHONE}): die Rechnung M-1 ist doppelt.")
    local.deliver_email(mail.as_bytes())
    local.say(f"{FIRST} {LAST} signs up with consent, buys for EUR 80 and writes a complaint: a contact, an")
    local.say("enrollment, sent mail, a case with her raw email in S3, loyalty points, all stored.")


def _request(local: LocalClient, kind: str, contact_id: str, **kw: Any) -> dict[str, Any]:
    first = local.post(f"/contacts/{contact_id}/{kind}", **kw)
    again = local.post(f"/contacts/{contact_id}/{kind}", **kw)  # the caller retried
    assert first.status == again.status == 202, first.text
    assert first.json()["request_id"] == again.json()["request_id"], again.text
    local.drain_queue(QUEUE)
    status = local.get(first.json()["status_url"]).json()
    assert status["status"] == "done", status
    return status  # type: ignore[no-any-return]


def export(local: LocalClient, contact_id: str) -> None:
    done = _request(local, "export", contact_id, headers={"Idempotency-Key": "dsar-greta-1"})
    with urllib.request.urlopen(done["download_url"], timeout=30) as answer:  # noqa: S310 - the local moto
        archive = zipfile.ZipFile(io.BytesIO(answer.read()))
    data = json.loads(archive.read("data.json"))
    found = {name: len(part["items"]) for name, part in data["stores"].items() if part["items"]}
    local.say("POST /contacts/{id}/export (twice, one Idempotency-Key: one request) -> 202; the worker")
    local.say(
        f"  writes one archive, linked for {done['download_expires_in']} s: "
        + ", ".join(sorted(archive.namelist()))
    )
    local.say("  data.json holds her items from " + ", ".join(f"{name} ({n})" for name, n in found.items()))
    assert found.get("ContactsTable") == 1 and any(n.startswith("mail/") for n in archive.namelist()), found


def erase(local: LocalClient, contact_id: str) -> None:
    done = _request(local, "erasure", contact_id)
    local.say(
        f"POST /contacts/{{id}}/erasure (twice) -> 202, one request {done['request_id'][:12]}...; done:"
    )
    stores = done["stores"]
    shown = stores.items() if isinstance(stores, dict) else enumerate(stores)
    local.say("  " + ", ".join(f"{name}: {n}" for name, n in shown))


def prove(local: LocalClient, contact_id: str) -> None:
    import boto3

    from infra.template import Template

    template, endpoint = Template(), local.info()["moto_endpoint"]
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=template.region)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=template.region)
    texts: list[str] = []
    tables, buckets = 0, 0
    for logical_id, _ in template.of_type("AWS::DynamoDB::Table"):
        tables += 1
        for page in ddb.get_paginator("scan").paginate(TableName=template.physical_name(logical_id)):
            texts.extend(json.dumps(item, ensure_ascii=False) for item in page["Items"])
    for logical_id, _ in template.of_type("AWS::S3::Bucket"):
        buckets += 1
        bucket = template.physical_name(logical_id)
        for listing in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for v in listing.get("Versions", []):
                body = s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
                texts.append(v["Key"] + body.decode("utf-8", "replace"))
    text = "\n".join(texts).lower()
    traces = [EMAIL.lower(), FIRST.lower(), LAST.lower(), "2345 6789", contact_id]
    left = [t for t in traces if t in text]
    local.say(f"A full read of all {tables} tables and {buckets} buckets ({len(texts)} items and objects)")
    local.say(f"  looking for {', '.join(traces[:4])} and her contact id: {', '.join(left) or 'none found'}.")
    assert not left, left
    local.say("Kept, and said so in docs/data-rights.md: her loyalty ledger and closed case under a random")
    local.say("  pseudonym, and her suppression as an HMAC of the address, so she is never mailed again.")
