"""template.yaml is the source of truth: the local stack, the settings and the layer must agree with it."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import boto3
import pytest

from crm_core.settings import RUNTIME_PROVIDED, Settings
from infra.provision import table_spec
from infra.template import ROOT, Template
from tests.helpers import index_shape


def test_local_tables_have_the_template_key_schema_and_indexes(stack, template: Template) -> None:
    ddb = boto3.client("dynamodb")
    declared = dict(template.of_type("AWS::DynamoDB::Table"))
    assert declared, "the template declares tables"
    for logical_id in declared:
        spec = table_spec(template, logical_id)
        live = ddb.describe_table(TableName=spec["TableName"])["Table"]
        assert live["KeySchema"] == spec["KeySchema"], logical_id
        assert index_shape(live.get("GlobalSecondaryIndexes", [])) == index_shape(
            spec.get("GlobalSecondaryIndexes", [])
        ), logical_id
        ttl = declared[logical_id]["Properties"].get("TimeToLiveSpecification")
        if ttl:
            described = ddb.describe_time_to_live(TableName=spec["TableName"])["TimeToLiveDescription"]
            assert described["AttributeName"] == ttl["AttributeName"]


def test_local_queues_keep_their_redrive_policy(stack, template: Template) -> None:
    sqs = boto3.client("sqs")
    for logical_id, resource in template.of_type("AWS::SQS::Queue"):
        url = sqs.get_queue_url(QueueName=template.physical_name(logical_id))["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = resource["Properties"].get("RedrivePolicy")
        if redrive:
            assert f'"maxReceiveCount": {redrive["maxReceiveCount"]}'.replace(" ", "") in attributes[
                "RedrivePolicy"
            ].replace(" ", "")


def test_every_variable_the_settings_read_is_set_by_the_template(template: Template) -> None:
    set_by_template = set(template.environment())
    for function in template.functions().values():
        missing = set(Settings.variables()) - RUNTIME_PROVIDED - set(function.environment)
        assert not missing, f"{function.logical_id} lacks {sorted(missing)}"
    assert set(Settings.variables()) - RUNTIME_PROVIDED <= set_by_template


def test_every_function_handler_imports(template: Template) -> None:
    for function in template.functions().values():
        assert function.handler_path.is_file(), function.logical_id
        spec = importlib.util.spec_from_file_location(f"handler_{function.logical_id}", function.handler_path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert callable(getattr(module, function.handler_name)), function.logical_id


def test_every_function_bounds_its_retries_and_keeps_its_failures(template: Template) -> None:
    for function in template.functions().values():
        props = function.properties
        kinds = {event["Type"] for event in function.events.values()}
        if kinds & {"Schedule", "ScheduleV2", "S3", "SNS", "EventBridgeRule"} or not kinds:
            config = props.get("EventInvokeConfig", {})
            assert "MaximumRetryAttempts" in config, function.logical_id
            assert "OnFailure" in config.get("DestinationConfig", {}), function.logical_id


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = re.match(r"^\s*\"?([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s\";]+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(3)
    return pins


def test_layer_requirements_pin_what_the_project_tested_and_leave_boto3_to_the_runtime() -> None:
    layer = _pins((ROOT / "layers/crm_core/requirements.txt").read_text().splitlines())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    tested = _pins((ROOT / "constraints.txt").read_text().splitlines())
    for name, version in _pins(project).items():
        assert layer.get(name) == version, name
    for name, version in layer.items():
        assert tested.get(name) == version, f"{name} differs from constraints.txt"
    assert not {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"} & set(
        layer
    )


@pytest.mark.parametrize(
    "path", sorted(Path(ROOT, "functions").glob("*/app.py")), ids=lambda p: p.parent.name
)
def test_handlers_stay_thin(path: Path) -> None:
    source = path.read_text()
    assert len(source.splitlines()) <= 60
    assert "os.environ" not in source and "getenv" not in source
