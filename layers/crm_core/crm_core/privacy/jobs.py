"""Export and erasure requests: recorded once, queued, run (and resumed) by the privacy worker.

A request's id is a keyed hash (HMAC with the signing key) of the contact id and, for an export, the
caller's Idempotency-Key (or the day): the same request posted twice is one request, and the id says
nothing about whom it concerns. The request item holds the address only while it runs; a finished
erasure keeps its dates, counts and pseudonym alone, a finished export its contact id and file until
it expires (7 days, TTL), or until the person's erasure deletes both.

Erasure walks `registry.STORES` in order and records each store it finished (`done`), so a run that
crashed is resumed by the queue's redelivery where it stopped; export collects every store into one
ZIP (data.json and the raw emails) in the exports bucket, downloaded through a pre-signed link.
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from crm_core import aws, clock
from crm_core.errors import FieldError, NotFound, ValidationFailed
from crm_core.observability import get_logger
from crm_core.privacy import registry, storage
from crm_core.settings import get_settings

EXPORT, ERASURE = "export", "erasure"
PENDING, RUNNING, DONE = "pending", "running", "done"
EXPORT_DAYS = 7  # an export's request and file live this long (the bucket's lifecycle agrees)
FORMAT = "crm-export/1"


def _table() -> str:
    return get_settings().privacy_requests_table


def request_id_for(kind: str, contact_id: str, key: str = "") -> str:
    """The id of the request of `kind` for a contact (and key): a keyed hash, stable across replays."""
    from crm_core.messaging import tokens  # noqa: PLC0415 - the signing key only when a request id is made

    prefix = "er_" if kind == ERASURE else "ex_"
    return prefix + tokens.mac(f"{contact_id}#{key}", f"privacy-{kind}", length=26)


def request(kind: str, contact_id: str, key: str | None = None) -> tuple[dict[str, Any], bool]:
    """Record (once) and queue an export or erasure of a contact; returns (its status, created now).

    Raises NotFound when neither the contact nor an earlier request of the same kind exists, and
    ValidationFailed naming Idempotency-Key when it is too long.
    """
    _check_request(contact_id, key)
    now = clock.now().astimezone(UTC)
    scope = "" if kind == ERASURE else (key or now.date().isoformat())
    request_id = request_id_for(kind, contact_id, scope)
    existing = storage.get(_table(), {"request_id": request_id})
    created = existing is None
    if existing is None:
        existing = _record(kind, contact_id, request_id, now)
        if existing is None:
            return request(kind, contact_id, key)  # a concurrent post recorded it first
    if existing["status"] != DONE:  # queued again on a replay: a lost send is made good, a run is idempotent
        aws.sqs().send_message(
            QueueUrl=get_settings().privacy_queue_url, MessageBody=json.dumps({"request_id": request_id})
        )
    get_logger().info(
        "privacy request", extra={"request_id": request_id, "kind": kind, "new_request": created}
    )
    return status(request_id), created


def _check_request(contact_id: str, key: str | None) -> None:
    if key is not None and not 1 <= len(key) <= 128:
        raise ValidationFailed([FieldError("Idempotency-Key", "must have 1 to 128 characters")])
    if not (0 < len(contact_id) <= 64 and contact_id.isascii() and contact_id.isprintable()):
        raise ValidationFailed([FieldError("contact_id", "is not a contact id")])


def _record(kind: str, contact_id: str, request_id: str, now: datetime) -> dict[str, Any] | None:
    """Write a new request (conditional put); None when a concurrent post recorded it first.

    Raises NotFound when the contact does not exist."""
    contact = storage.get(get_settings().contacts_table, {"contact_id": contact_id})
    if contact is None:
        raise NotFound("no contact with this id")
    item: dict[str, Any] = {
        "request_id": request_id,
        "kind": kind,
        "status": PENDING,
        "contact_id": contact_id,
        "requested_at": _iso(now),
        "pseudonym": "px_" + secrets.token_hex(13),
        "done": [],
        "counts": {},
    }
    if contact.get("email"):
        item["email"] = contact["email"]
    if kind == EXPORT:
        item["expires_at"] = int((now + timedelta(days=EXPORT_DAYS)).timestamp())
    try:
        aws.dynamodb().put_item(
            TableName=_table(),
            Item=storage.to_dynamodb(item),
            ConditionExpression="attribute_not_exists(request_id)",
        )
    except Exception as exc:
        if aws.error_code(exc) != "ConditionalCheckFailedException":
            raise
        return None
    return item


def status(request_id: str) -> dict[str, Any]:
    """A request's status as the API shows it; a finished export has a pre-signed download link.

    Raises NotFound for an unknown (or expired) request.
    """
    if not (0 < len(request_id) <= 64 and request_id.isascii()):  # ours are 29 characters
        raise NotFound("no privacy request with this id")
    item = storage.get(_table(), {"request_id": request_id})
    if item is None or (item.get("expires_at") and int(item["expires_at"]) < clock.now().timestamp()):
        raise NotFound("no privacy request with this id")
    answer: dict[str, Any] = {
        "request_id": request_id,
        "kind": item["kind"],
        "status": item["status"],
        "requested_at": item.get("requested_at"),
        "completed_at": item.get("completed_at"),
        "stores": {k: int(v) for k, v in sorted(item.get("counts", {}).items())},
        "status_url": f"/privacy-requests/{request_id}",
    }
    if item["kind"] == EXPORT and item["status"] == DONE:
        seconds = get_settings().export_link_seconds
        answer["download_url"] = aws.s3().generate_presigned_url(
            "get_object",
            Params={"Bucket": get_settings().privacy_exports_bucket, "Key": item["export_key"]},
            ExpiresIn=seconds,
        )
        answer["download_expires_in"] = seconds
    return answer


def run_message(body: str) -> dict[str, Any]:
    """Run the request a queue message names (`{"request_id": ...}`); raises ValueError for another body."""
    message = json.loads(body)
    if not isinstance(message, dict) or not isinstance(message.get("request_id"), str):
        raise ValueError('a privacy queue message is {"request_id": ...}')
    return run(message["request_id"])


def as_json(answer: dict[str, Any]) -> str:
    """A request's answer as canonical JSON (sorted keys), as stored and compared."""
    return json.dumps(answer, sort_keys=True)


def run(request_id: str) -> dict[str, Any]:
    """Run (or resume, or skip when done) one request; returns its id, kind and status.

    Raises what a store raises: the queue delivers the message again and the run resumes after the last
    store it finished."""
    item = storage.get(_table(), {"request_id": request_id})
    if item is None:
        get_logger().warning("privacy request gone", extra={"request_id": request_id})
        return {"request_id": request_id, "status": "unknown"}
    if item["status"] != DONE:
        _update(request_id, {"status": RUNNING})
        subject = registry.Subject(str(item["contact_id"]), item.get("email"), str(item["pseudonym"]))
        if item["kind"] == ERASURE:
            _erase(request_id, subject, list(item.get("done", [])))
        else:
            _export(request_id, subject)
    return {"request_id": request_id, "kind": item["kind"], "status": DONE}


def _erase(request_id: str, subject: registry.Subject, done: list[str]) -> None:
    logger = get_logger()
    for store in registry.STORES:
        if store.resource in done:
            continue
        count = store.erase(subject, store.name)
        _update(request_id, {f"counts.{store.resource}": count}, append_done=store.resource)
        logger.info("erased", extra={"request_id": request_id, "store": store.resource, "count": count})
    _update(request_id, {"status": DONE, "completed_at": _iso(clock.now())}, remove=("contact_id", "email"))


def collect(subject: registry.Subject) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Everything stored about a person, by store (plain JSON values), and the raw emails by file name."""
    data: dict[str, Any] = {}
    mails: dict[str, bytes] = {}
    for store in registry.STORES:
        items = store.collect(subject, store.name)
        data[store.resource] = {"found_by": store.found_by, "items": items}
        if store.kind == registry.BUCKET:
            for item in items:
                body = storage.read_object(store.name, item["key"])
                if body is not None:
                    name = f"mail/{item['key'].rpartition('/')[2]}.eml"
                    mails[name] = body
                    item["file"] = name
    return data, mails


def _export(request_id: str, subject: registry.Subject) -> None:
    data, mails = collect(subject)
    now = _iso(clock.now())
    document = {"format": FORMAT, "contact_id": subject.contact_id, "exported_at": now, "stores": data}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(document, indent=2, ensure_ascii=False, default=_plain))
        for name, body in sorted(mails.items()):
            archive.writestr(name, body)
    key = f"{registry.export_prefix(subject.contact_id)}{request_id}.zip"
    aws.s3().put_object(
        Bucket=get_settings().privacy_exports_bucket,
        Key=key,
        Body=buffer.getvalue(),
        ContentType="application/zip",
    )
    counts = {f"counts.{resource}": len(part["items"]) for resource, part in data.items()}
    _update(request_id, {"status": DONE, "completed_at": now, "export_key": key, **counts}, remove=("email",))


def _update(
    request_id: str, values: dict[str, Any], *, append_done: str | None = None, remove: tuple[str, ...] = ()
) -> None:
    names: dict[str, str] = {}
    attribute_values: dict[str, Any] = {}
    sets = []
    for i, (path, value) in enumerate(values.items()):
        parts = path.split(".")
        for j, part in enumerate(parts):
            names[f"#n{i}_{j}"] = part
        sets.append(".".join(f"#n{i}_{j}" for j in range(len(parts))) + f" = :v{i}")
        attribute_values[f":v{i}"] = storage.to_dynamodb({"v": value})["v"]
    if append_done:
        names["#done"] = "done"
        attribute_values[":done"] = {"L": [{"S": append_done}]}
        sets.append("#done = list_append(#done, :done)")
    expression = "SET " + ", ".join(sets)
    if remove:
        names.update({f"#r{i}": name for i, name in enumerate(remove)})
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove)))
    aws.dynamodb().update_item(
        TableName=_table(),
        Key={"request_id": {"S": request_id}},
        UpdateExpression=expression,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=attribute_values,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _iso(at: Any) -> str:
    return str(at.astimezone(UTC).isoformat().replace("+00:00", "Z"))


__all__ = [
    "ERASURE",
    "EXPORT",
    "as_json",
    "collect",
    "request",
    "request_id_for",
    "run",
    "run_message",
    "status",
]
