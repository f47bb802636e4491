"""A Lambda S3 event: one object created."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from crm_core import clock


def s3_event(*, bucket: str, key: str, size: int, etag: str, at: datetime, region: str) -> dict[str, Any]:
    """An `s3:ObjectCreated:Put` notification as Lambda receives it."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": clock.iso(at, milliseconds=True),
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:LOCALSTACK"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                    "x-amz-id-2": base64.b64encode(uuid.uuid4().bytes * 2).decode(),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "local",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "LOCAL"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {"key": key, "size": size, "eTag": etag.strip('"'), "sequencer": "0"},
                },
            }
        ]
    }
