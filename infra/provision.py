"""Create, on whatever endpoint boto3 points at (moto), every resource template.yaml declares.

Tables keep their exact key schema, indexes and TTL; queues their redrive policy; SES identities
are verified. Used by the local stack and the test fixtures alike, so neither can drift from AWS.
"""

from __future__ import annotations

import json
import secrets
import string
from typing import TYPE_CHECKING, Any, cast

import boto3

from infra.template import Template

if TYPE_CHECKING:
    from mypy_boto3_s3.literals import BucketLocationConstraintType

_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes")


def table_spec(template: Template, logical_id: str) -> dict[str, Any]:
    """The CreateTable request for one table of the template."""
    props = template.resolve(template.resources[logical_id]["Properties"])
    spec: dict[str, Any] = {"TableName": template.physical_name(logical_id), "BillingMode": "PAY_PER_REQUEST"}
    spec.update({k: props[k] for k in _TABLE_KEYS if k in props})
    if "StreamSpecification" in props:
        spec["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return spec


def provision(template: Template, session: boto3.Session | None = None) -> dict[str, list[str]]:
    """Create every table, queue, bucket, topic, SES identity and set, and secret; their names by kind."""
    session = session or boto3.Session(region_name=template.region)
    created: dict[str, list[str]] = {
        "tables": [],
        "queues": [],
        "buckets": [],
        "topics": [],
        "identities": [],
        "configuration_sets": [],
        "secrets": [],
    }

    _provision_tables(template, session, created)
    _provision_queues(template, session, created)
    _provision_buckets(template, session, created)
    _provision_topics(template, session, created)
    _provision_identities(template, session, created)
    _provision_ses_and_secrets(template, session, created)
    _provision_event_buses(template, session, created)
    return created


def _provision_tables(template: Template, session: boto3.Session, created: dict[str, list[str]]) -> None:
    ddb = session.client("dynamodb")
    for logical_id, resource in template.of_type("AWS::DynamoDB::Table"):
        spec = table_spec(template, logical_id)
        ddb.create_table(**spec)
        ttl = resource["Properties"].get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(
                TableName=spec["TableName"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        created["tables"].append(spec["TableName"])


def _provision_queues(template: Template, session: boto3.Session, created: dict[str, list[str]]) -> None:
    sqs = session.client("sqs")
    queues = list(template.of_type("AWS::SQS::Queue"))
    # Dead-letter queues first, so a redrive policy can name an existing ARN.
    queues.sort(key=lambda item: "RedrivePolicy" in item[1].get("Properties", {}))
    for logical_id, resource in queues:
        props = template.resolve(resource.get("Properties", {}))
        attributes: dict[Any, str] = {}  # the template's property names are the API's attribute names
        for key in (
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "FifoQueue",
            "ContentBasedDeduplication",
            "ReceiveMessageWaitTimeSeconds",
        ):
            if key in props:
                attributes[key] = str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        sqs.create_queue(QueueName=template.physical_name(logical_id), Attributes=attributes)
        created["queues"].append(template.physical_name(logical_id))


def _provision_buckets(template: Template, session: boto3.Session, created: dict[str, list[str]]) -> None:
    s3 = session.client("s3")
    for logical_id, _ in template.of_type("AWS::S3::Bucket"):
        name = template.physical_name(logical_id)
        region = cast("BucketLocationConstraintType", template.region)
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        created["buckets"].append(name)


def _provision_topics(template: Template, session: boto3.Session, created: dict[str, list[str]]) -> None:
    sns = session.client("sns")
    for logical_id, _ in template.of_type("AWS::SNS::Topic"):
        sns.create_topic(Name=template.physical_name(logical_id))
        created["topics"].append(template.physical_name(logical_id))


def _provision_identities(template: Template, session: boto3.Session, created: dict[str, list[str]]) -> None:
    ses = session.client("ses")
    identities = [
        str(template.resolve(r["Properties"]["EmailIdentity"]))
        for _, r in template.of_type("AWS::SES::EmailIdentity")
    ]
    # On AWS the user verifies the sender beforehand unless the stack creates it (CreateSenderIdentity).
    sender = template.param_values.get("SenderAddress")
    if sender and sender not in identities:
        identities.append(sender)
    for identity in identities:
        if "@" in identity:
            ses.verify_email_identity(EmailAddress=identity)
        else:
            ses.verify_domain_identity(Domain=identity)
        created["identities"].append(identity)


def _provision_event_buses(template: Template, session: boto3.Session, created: dict[str, list[str]]) -> None:
    events = session.client("events")
    for logical_id, _ in template.of_type("AWS::Events::EventBus"):
        events.create_event_bus(Name=template.physical_name(logical_id))
        created.setdefault("event_buses", []).append(template.physical_name(logical_id))


def _provision_ses_and_secrets(
    template: Template, session: boto3.Session, created: dict[str, list[str]]
) -> None:
    ses = session.client("ses")
    # Receipt rule sets and rules need nothing here: the local stack's inbox reads them from the template.
    for logical_id, _ in template.of_type("AWS::SES::ConfigurationSet"):
        name = template.physical_name(logical_id)
        ses.create_configuration_set(ConfigurationSet={"Name": name})
        created["configuration_sets"].append(name)

    secretsmanager = session.client("secretsmanager")
    for logical_id, resource in template.of_type("AWS::SecretsManager::Secret"):
        name = template.physical_name(logical_id)
        props = template.resolve(resource.get("Properties", {}))
        secretsmanager.create_secret(Name=name, SecretString=secret_value(props))
        created["secrets"].append(name)


def secret_value(props: dict[str, Any]) -> str:
    """The value CloudFormation stores: SecretString as given, or one made per GenerateSecretString."""
    if "SecretString" in props:
        return str(props["SecretString"])
    spec = props.get("GenerateSecretString", {})
    alphabet = ""
    if not spec.get("ExcludeLowercase"):
        alphabet += string.ascii_lowercase
    if not spec.get("ExcludeUppercase"):
        alphabet += string.ascii_uppercase
    if not spec.get("ExcludeNumbers"):
        alphabet += string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
    if spec.get("IncludeSpace"):
        alphabet += " "
    alphabet = "".join(c for c in alphabet if c not in str(spec.get("ExcludeCharacters", "")))
    length = int(spec.get("PasswordLength", 32))
    generated = "".join(secrets.choice(alphabet) for _ in range(length))
    if "SecretStringTemplate" in spec and "GenerateStringKey" in spec:
        document = json.loads(spec["SecretStringTemplate"])
        document[spec["GenerateStringKey"]] = generated
        return json.dumps(document)
    return generated
