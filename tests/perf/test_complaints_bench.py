"""Complaints bench: classification accuracy on a labelled set, and cases per second through the handler.

Baselines, measured in the same run:
- accuracy: always answering the most frequent category (what a rule file with no keywords scores);
- throughput: the moto floor of any intake, one S3 GetObject plus one DynamoDB PutItem per email.

The handler makes about 21 AWS calls per new case (read, transaction, helpdesk message, ack claim,
send, record). moto's TransactWriteItems deep-copies the whole table to be able to roll back, so
its cost grows with the table: the figure is a floor for moto, not a forecast for DynamoDB.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import boto3

from crm_core.cases.rules import classify, get_policy
from tests.complaints import compose, ses_event
from tests.helpers import load_handler
from tests.perf.harness import record

LABELLED = Path(__file__).resolve().parent.parent / "fixtures" / "complaints_labelled.json"
MESSAGES = 40


def test_classification_accuracy_in_four_languages() -> None:
    complaints = json.loads(LABELLED.read_text())["complaints"]
    assert len(complaints) >= 40
    assert {c["lang"] for c in complaints} == {"en", "it", "de", "id"}
    policy = get_policy()
    right = [classify(policy, f"{c['subject']}\n{c['body']}") == c["category"] for c in complaints]
    accuracy = sum(right) / len(right)
    majority = Counter(c["category"] for c in complaints).most_common(1)[0][1] / len(complaints)
    record(
        "complaints", f"classification accuracy ({len(complaints)} complaints)", accuracy, target=">= 0.85"
    )
    record("complaints", "accuracy / always-the-commonest-category", accuracy, majority, target=">= 2.0")
    for lang in ("en", "it", "de", "id"):
        mine = [ok for ok, c in zip(right, complaints, strict=True) if c["lang"] == lang]
        record("complaints", f"accuracy {lang}", sum(mine) / len(mine), target=">= 0.8")
    assert accuracy >= 0.85


def test_cases_per_second_through_the_handler(stack, lambda_context) -> None:
    settings_bucket, prefix = stack.env["INBOUND_MAIL_BUCKET"], stack.env["INBOUND_MAIL_PREFIX"]
    events = [
        ses_event(
            compose(
                sender=f"Customer {n} <customer{n}@example.it>",
                subject=f"Ordine A-{n}: pacco non arrivato",
                body="Buongiorno, il pacco non è arrivato e il tracciamento è fermo. " * 5,
            )
        )
        for n in range(MESSAGES)
    ]
    handler = load_handler("route_complaint")
    handler.lambda_handler(events[0], lambda_context)  # warm: clients, rule file, templates
    started = time.perf_counter()
    for event in events[1:]:
        handler.lambda_handler(event, lambda_context)
    handled = (MESSAGES - 1) / (time.perf_counter() - started)

    s3, ddb = boto3.client("s3"), boto3.client("dynamodb")
    keys = [e["Records"][0]["ses"]["mail"]["messageId"] for e in events]
    started = time.perf_counter()
    for n, key in enumerate(keys):
        s3.get_object(Bucket=settings_bucket, Key=prefix + key)["Body"].read()
        ddb.put_item(TableName=stack.env["CASES_TABLE"], Item={"pk": {"S": f"floor#{n}"}, "sk": {"S": "x"}})
    floor = len(keys) / (time.perf_counter() - started)

    record("complaints", "emails to cases /s (moto) / S3 get + put floor", handled, floor, unit="/s")
    assert handled > 1
