"""S3 event notifications (`S3` events) for objects the local stack puts."""

from __future__ import annotations

from typing import Any

from crm_core import clock
from infra.local import events
from infra.local.runtime import Runtime
from infra.local.triggers.lookup import NotFoundError
from infra.template import Template


class Buckets:
    """S3 event notifications (`Type: S3` events) for objects the local stack puts."""

    def __init__(self, template: Template, runtime: Runtime, s3: Any) -> None:
        self.template, self.runtime, self.s3 = template, runtime, s3
        self.listeners: list[tuple[str, str, list[str], list[tuple[str, str]]]] = []
        for function_id, function in template.functions().items():
            for event in function.events.values():
                if event.get("Type") != "S3":
                    continue
                props = event.get("Properties") or {}
                bucket = props.get("Bucket", {})
                bucket_id = str(bucket.get("Ref")) if isinstance(bucket, dict) else str(bucket)
                kinds = props.get("Events") or []
                kinds = [kinds] if isinstance(kinds, str) else kinds
                rules = (props.get("Filter") or {}).get("S3Key", {}).get("Rules", [])
                filters = [(str(r["Name"]).lower(), str(r["Value"])) for r in rules]
                self.listeners.append((function_id, bucket_id, [str(k) for k in kinds], filters))

    def put(self, bucket_id: str, key: str, body: bytes) -> dict[str, Any]:
        """Put an object, then invoke (asynchronously) every function notified of it."""
        if bucket_id not in dict(self.template.of_type("AWS::S3::Bucket")):
            raise NotFoundError(f"no bucket {bucket_id} in the template")
        bucket = self.template.physical_name(bucket_id)
        etag = str(self.s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"])
        event = events.s3_event(
            bucket=bucket, key=key, size=len(body), etag=etag, at=clock.now(), region=self.template.region
        )
        notified = [
            self.runtime.invoke_async(function_id, event).as_dict()
            for function_id, listened, kinds, filters in self.listeners
            if listened == bucket_id
            and any(k in {"s3:ObjectCreated:*", "s3:ObjectCreated:Put"} for k in kinds)
            and all(key.startswith(v) if n == "prefix" else key.endswith(v) for n, v in filters)
        ]
        return {"bucket": bucket, "key": key, "notified": notified}

    def bucket_id(self, name: str) -> str:
        for logical_id, _ in self.template.of_type("AWS::S3::Bucket"):
            if self.template.physical_name(logical_id) == name:
                return logical_id
        raise NotFoundError(f"no bucket named {name} in the template")
