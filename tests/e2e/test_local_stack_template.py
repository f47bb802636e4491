"""The local stack on the real template.yaml: what `make up` serves, and that it is the template's stack."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import boto3
import pytest

from infra.local.client import LocalClient
from infra.provision import table_spec
from infra.template import ROOT, Template
from tests.helpers import index_shape

pytestmark = pytest.mark.e2e


def test_a_fresh_stack_has_an_empty_outbox(local_stack: LocalClient) -> None:
    assert local_stack.outbox() == []


def test_links_in_emails_point_at_the_local_stack(local_stack: LocalClient) -> None:
    assert local_stack.info()["parameters"]["PublicBaseUrl"] == local_stack.base_url


def test_a_plain_form_post_is_redirected_to_the_thank_you_page_on_the_stack_own_port(
    local_stack: LocalClient,
) -> None:
    # Given a stack on a free port (not the 3000 of the AllowedOrigins default)
    base = local_stack.base_url
    assert not base.endswith(":3000")

    # When a browser without JavaScript posts the example form from the stack's own page
    answer = local_stack.post(
        "/leads",
        data={"email": "redirect@example.com", "thank_you_url": "/examples/lead-form/thanks.html"},
        headers={"accept": "text/html", "referer": f"{base}/", "origin": base},
    )

    # Then it is sent to the form's thank-you page on this stack, and CORS allows the same origin
    assert answer.status == 303, answer.text
    assert answer.headers["location"] == f"{base}/examples/lead-form/thanks.html"
    preflight = local_stack.options(
        "/leads", headers={"origin": base, "access-control-request-method": "POST"}
    )
    assert preflight.headers.get("access-control-allow-origin") == base
    assert base in local_stack.info()["parameters"]["AllowedOrigins"].split(",")


def test_the_stack_serves_every_http_route_of_the_template(local_stack: LocalClient) -> None:
    declared = {
        (
            str(e["Properties"].get("Method", "ANY")).upper(),
            e["Properties"].get("Path", "$default"),
            logical_id,
        )
        for logical_id, function in Template().functions().items()
        for e in function.events.values()
        if e["Type"] == "HttpApi"
    }

    served = {(r["method"], r["path"], r["function"]) for r in local_stack.get("/_local/routes").json()}

    assert served == declared


def test_the_stack_tables_indexes_and_queues_are_the_template_ones(local_stack: LocalClient) -> None:
    template = Template()
    endpoint = local_stack.info()["moto_endpoint"]
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=template.region)
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=template.region)

    tables = dict(template.of_type("AWS::DynamoDB::Table"))
    assert sorted(ddb.list_tables()["TableNames"]) == sorted(template.physical_name(t) for t in tables)
    for logical_id in tables:
        spec = table_spec(template, logical_id)
        live = ddb.describe_table(TableName=spec["TableName"])["Table"]
        assert live["KeySchema"] == spec["KeySchema"], logical_id
        assert index_shape(live.get("GlobalSecondaryIndexes", [])) == index_shape(
            spec.get("GlobalSecondaryIndexes", [])
        ), logical_id

    queues = {template.physical_name(q): r for q, r in template.of_type("AWS::SQS::Queue")}
    live_queues = {url.rsplit("/", 1)[1]: url for url in sqs.list_queues().get("QueueUrls", [])}
    assert sorted(live_queues) == sorted(queues)
    for name, resource in queues.items():
        redrive = resource.get("Properties", {}).get("RedrivePolicy")
        attributes = sqs.get_queue_attributes(QueueUrl=live_queues[name], AttributeNames=["All"])[
            "Attributes"
        ]
        if redrive:
            assert f'"maxReceiveCount": {redrive["maxReceiveCount"]}' in attributes["RedrivePolicy"]
        else:
            assert "RedrivePolicy" not in attributes
    listed = {q["logical_id"] for q in local_stack.queues()}
    assert listed == {logical_id for logical_id, _ in template.of_type("AWS::SQS::Queue")}


def test_crm_local_up_serves_an_empty_outbox_and_stops_cleanly_on_ctrl_c() -> None:
    """What `make up` runs, as a user runs it: a separate process on a port of its own, then Ctrl-C."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "local", "up", "--port", "0", "--quiet"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        started, url, printed = time.monotonic(), None, []
        assert process.stdout is not None
        for line in process.stdout:
            printed.append(line)
            if found := re.search(r"local stack on (http://\S+)", line):
                url = found.group(1)
            if line.startswith("Ready"):
                break
        assert url, "".join(printed)
        assert time.monotonic() - started < 15, "it starts in a few seconds"
        assert LocalClient(url).outbox() == []
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, rest
    assert "Local stack stopped." in rest
    assert "moto: http://127.0.0.1:" in "".join(printed)


def test_the_stack_scene_of_the_demo_plays(local_stack: LocalClient) -> None:
    from infra.demo import SCENES, load

    load(SCENES / "00_stack.py").play(local_stack)
