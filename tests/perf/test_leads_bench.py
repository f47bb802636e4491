"""POST /leads warm throughput through the local gateway, beside a bare put_item loop on the same moto.

Both run inside one test against one local stack, for the same wall time, so the ratio compares
like with like: what the gateway, the handler, validation and the conditional transaction cost on
top of the cheapest possible write. (The capture_lead cold-start row comes from the harness.)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import boto3
from botocore.config import Config

from infra.local.client import LocalClient
from infra.local.stack import LocalStack
from infra.template import Template
from tests.perf.harness import record

SECONDS = 3.0
WARM_UP = 20


def _rate(step: Callable[[int], None], seconds: float = SECONDS) -> float:
    """Calls per second of `step(i)`, looped for `seconds` (bounded in time and count)."""
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds and done < 100_000:
        step(done)
        done += 1
    return done / (time.perf_counter() - started)


def test_capture_lead_warm_requests_per_second_beside_bare_put_item() -> None:
    with LocalStack(Template(), port=0, log_requests=False) as stack:
        local = LocalClient(stack.url)
        run = uuid.uuid4().hex[:8]

        def post_lead(i: int) -> None:
            answer = local.post(
                "/leads",
                json={
                    "email": f"bench-{run}-{i}@example.com",
                    "first_name": "Zoë",
                    "phone": "+39 333 123 4567",
                    "consent": True,
                    "form_id": "bench",
                },
            )
            assert answer.status == 201, answer.text

        for i in range(WARM_UP):
            post_lead(-1 - i)
        leads_per_second = _rate(post_lead)

        table = stack.template.physical_name("ContactsTable")
        ddb = boto3.client(
            "dynamodb",
            endpoint_url=stack.moto_url,
            region_name=stack.template.region,
            config=Config(retries={"mode": "standard", "max_attempts": 2}),
        )

        def put_item(i: int) -> None:
            ddb.put_item(
                TableName=table,
                Item={"contact_id": {"S": f"ct_bare_{run}_{i}"}, "email": {"S": "x@example.com"}},
            )

        for i in range(WARM_UP):
            put_item(-1 - i)
        puts_per_second = _rate(put_item)

    record(
        "leads",
        "POST /leads warm requests/s (local gateway)",
        round(leads_per_second, 1),
        baseline=round(puts_per_second, 1),
        unit="req/s",
        target="baseline: bare put_item on the same moto",
    )
    assert leads_per_second > 0 and puts_per_second > 0
