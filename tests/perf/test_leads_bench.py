"""POST /leads warm throughput through the local gateway, beside bare writes on the same moto server.

One local stack, one run, interleaved: each round times one lead posted over HTTP, one bare
`put_item` and one bare `TransactWriteItems` of the same two items a new lead writes (contact and
enrollment). Interleaving matters because moto deep-copies every table a transaction touches (for
its rollback), so a transaction gets slower as the tables grow; both transactional figures see the
same table sizes. DynamoDB itself does no such thing: the second row isolates what our code (gateway,
handler, parsing, validation) adds on top of the write. The cold-start row comes from the harness.
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

ROUNDS = 150
MAX_SECONDS = 20.0
WARM_UP = 10


def _timed(step: Callable[[int], None], i: int) -> float:
    started = time.perf_counter()
    step(i)
    return time.perf_counter() - started


def test_capture_lead_warm_requests_per_second_beside_bare_writes() -> None:
    with LocalStack(Template(), port=0, log_requests=False) as stack:
        local = LocalClient(stack.url)
        run = uuid.uuid4().hex[:8]
        ddb = boto3.client(
            "dynamodb",
            endpoint_url=stack.moto_url,
            region_name=stack.template.region,
            config=Config(retries={"mode": "standard", "max_attempts": 2}),
        )
        contacts = stack.template.physical_name("ContactsTable")
        enrollments = stack.template.physical_name("EnrollmentsTable")

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

        def put_item(i: int) -> None:
            ddb.put_item(TableName=contacts, Item={"contact_id": {"S": f"bare-put-{run}-{i}"}})

        def transact(i: int) -> None:
            key = {"contact_id": {"S": f"bare-tx-{run}-{i}"}}
            ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": contacts, "Item": {**key, "email": {"S": "x@example.com"}},
                             "ConditionExpression": "attribute_not_exists(contact_id)"}},
                    {"Put": {"TableName": enrollments, "Item": {**key, "enrollment_key": {"S": "welcome"}},
                             "ConditionExpression": "attribute_not_exists(contact_id)"}},
                ]
            )  # fmt: skip

        for i in range(WARM_UP):
            for step in (post_lead, put_item, transact):
                step(-1 - i)
        spent = {"lead": 0.0, "put": 0.0, "tx": 0.0}
        rounds, started = 0, time.perf_counter()
        while rounds < ROUNDS and time.perf_counter() - started < MAX_SECONDS:
            spent["lead"] += _timed(post_lead, rounds)
            spent["put"] += _timed(put_item, rounds)
            spent["tx"] += _timed(transact, rounds)
            rounds += 1

    rate = {kind: rounds / seconds for kind, seconds in spent.items()}
    record("leads", "POST /leads warm req/s vs bare put_item", round(rate["lead"], 1),
           baseline=round(rate["put"], 1), unit="req/s", target=">= 0.1")  # fmt: skip
    record("leads", "POST /leads warm req/s vs bare TransactWriteItems", round(rate["lead"], 1),
           baseline=round(rate["tx"], 1), unit="req/s", target=">= 0.5")  # fmt: skip
    record("leads", "POST /leads rounds measured (a busy machine runs fewer)", rounds, target=">= 20")
