"""Which IAM authorizations AWS makes for one API call: action, resource ARN and condition keys.

Following the service authorization reference: DynamoDB transactions are authorized per item with
the item actions (Put -> PutItem, ConditionCheck -> ConditionCheckItem, ...), batch calls per table,
and a Query or Scan of an index on the index ARN; SES v2 SendEmail on the sending identity and on
the configuration set, with `ses:FromAddress`; S3 object reads on the object ARN. A queue or topic
encrypted with a customer managed key also needs the KMS actions on that key (an AWS managed key's
own policy already allows every principal of the account that may use the service).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from typing import Any

from infra.aws_rules.policy import Request
from infra.template import ACCOUNT_ID, SECRET_SUFFIX

KmsLookup = Callable[[str], str | None]  # resource ARN -> ARN of its customer managed key, if any

# botocore service name -> IAM service prefix, where they differ
_PREFIX = {"sesv2": "ses", "monitoring": "cloudwatch"}
# DynamoDB transaction item -> the action it is authorized with
_TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}
_SQS_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
_S3_ACTIONS = {
    "HeadObject": "GetObject",
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
}
# With a VersionId, S3 authorizes the version's own action (deleting a version is not DeleteObject).
_S3_VERSION_ACTIONS = {"GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion"}


def requests_for(
    service: str, operation: str, params: Mapping[str, Any], region: str, kms_of: KmsLookup | None = None
) -> list[Request]:
    """Every authorization the call needs; all must be allowed for the call to succeed."""
    prefix = _PREFIX.get(service, service)
    builder = _BUILDERS.get(service)
    found = builder(operation, params, region) if builder else None
    if found is None:
        found = [Request(f"{prefix}:{operation}", ("*",))]
    if kms_of is not None:
        found += _kms(service, operation, params, region, kms_of)
    return found


# ---- DynamoDB ------------------------------------------------------------------------------------
def _table_arn(name: str, region: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}"


def _dynamodb(operation: str, params: Mapping[str, Any], region: str) -> list[Request] | None:
    action = f"dynamodb:{operation}"
    if operation in {"BatchGetItem", "BatchWriteItem"}:
        return [Request(action, (_table_arn(t, region),)) for t in params.get("RequestItems", {})]
    if operation in {"TransactWriteItems", "TransactGetItems"}:
        found = []
        for item in params.get("TransactItems", []):
            ((kind, body),) = item.items()
            found.append(Request(_TRANSACT_ACTIONS[kind], (_table_arn(body["TableName"], region),)))
        return found
    table = params.get("TableName")
    if table is None:
        return None
    arn = _table_arn(str(table), region)
    if operation in {"Query", "Scan"} and params.get("IndexName"):
        arn = f"{arn}/index/{params['IndexName']}"
    return [Request(action, (arn,))]


# ---- SES -----------------------------------------------------------------------------------------
def _identities(address: str, region: str) -> tuple[str, ...]:
    domain = address.rpartition("@")[2]
    base = f"arn:aws:ses:{region}:{ACCOUNT_ID}:identity/"
    return (base + address, base + domain) if domain and domain != address else (base + address,)


def _raw_from(params: Mapping[str, Any]) -> str:
    raw = params.get("Content", {}).get("Raw", {}).get("Data") or params.get("RawMessage", {}).get("Data")
    if not raw:
        return ""
    data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
    return str(BytesHeaderParser().parsebytes(data).get("From", ""))


def _ses_send(
    params: Mapping[str, Any], region: str, action: str, from_key: str, version: str
) -> list[Request]:
    display, address = parseaddr(str(params.get(from_key) or _raw_from(params)))
    if display == "" and not params.get(from_key):
        display = parseaddr(_raw_from(params))[0]
    context: dict[str, str | list[str]] = {"ses:FromAddress": address, "ses:ApiVersion": version}
    if display:
        context["ses:FromDisplayName"] = display
    destination = params.get("Destination", {})
    recipients = [
        parseaddr(a)[1]
        for key in ("ToAddresses", "CcAddresses", "BccAddresses")
        for a in destination.get(key, [])
    ]
    if recipients:
        context["ses:Recipients"] = recipients
    found = [Request(action, _identities(address, region), context)]
    if params.get("ConfigurationSetName"):
        config_set = f"arn:aws:ses:{region}:{ACCOUNT_ID}:configuration-set/{params['ConfigurationSetName']}"
        found.append(Request(action, (config_set,), context))
    return found


def _sesv2(operation: str, params: Mapping[str, Any], region: str) -> list[Request] | None:
    if operation == "SendEmail":
        return _ses_send(params, region, "ses:SendEmail", "FromEmailAddress", "2")
    return None


def _ses(operation: str, params: Mapping[str, Any], region: str) -> list[Request] | None:
    if operation in {"SendEmail", "SendRawEmail"}:
        return _ses_send(params, region, f"ses:{operation}", "Source", "1")
    return None


# ---- the others ----------------------------------------------------------------------------------
def queue_arn(url_or_name: str, region: str) -> str:
    """The ARN of a queue from its URL (or name)."""
    name = url_or_name.rstrip("/").rsplit("/", 1)[-1]
    return f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{name}"


def _sqs(operation: str, params: Mapping[str, Any], region: str) -> list[Request] | None:
    target = params.get("QueueUrl") or params.get("QueueName")
    if not target:
        return None
    return [Request(f"sqs:{_SQS_ACTIONS.get(operation, operation)}", (queue_arn(str(target), region),))]


def _sns(operation: str, params: Mapping[str, Any], region: str) -> list[Request] | None:
    target = params.get("TopicArn") or params.get("TargetArn")
    return [Request(f"sns:{operation}", (str(target),))] if target else None


def _s3(operation: str, params: Mapping[str, Any], region: str) -> list[Request] | None:
    bucket = params.get("Bucket")
    if not bucket:
        return None
    operation = _S3_ACTIONS.get(operation, operation)
    if params.get("VersionId"):
        operation = _S3_VERSION_ACTIONS.get(operation, operation)
    action = f"s3:{operation}"
    if "Key" in params:
        return [Request(action, (f"arn:aws:s3:::{bucket}/{params['Key']}",))]
    return [Request(action, (f"arn:aws:s3:::{bucket}",))]


def secret_arn(secret_id: str, region: str) -> str:
    """A secret's ARN from its name or ARN, with the stack's fixed suffix (see infra.template)."""
    if secret_id.startswith("arn:"):
        name = secret_id.split(":secret:", 1)[1]
        base, _, suffix = name.rpartition("-")
        name = base if len(suffix) == 6 and base else name
    else:
        name = secret_id
    return f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:{name}-{SECRET_SUFFIX}"


def _secretsmanager(operation: str, params: Mapping[str, Any], region: str) -> list[Request] | None:
    secret = params.get("SecretId")
    return [Request(f"secretsmanager:{operation}", (secret_arn(str(secret), region),))] if secret else None


def _events(operation: str, params: Mapping[str, Any], region: str) -> list[Request] | None:
    if operation != "PutEvents":
        return None
    buses = {str(e.get("EventBusName") or "default") for e in params.get("Entries", [])}
    return [
        Request(
            "events:PutEvents",
            (bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{ACCOUNT_ID}:event-bus/{bus}",),
        )
        for bus in sorted(buses)
    ]


_BUILDERS: dict[str, Callable[[str, Mapping[str, Any], str], list[Request] | None]] = {
    "dynamodb": _dynamodb,
    "sesv2": _sesv2,
    "ses": _ses,
    "sqs": _sqs,
    "sns": _sns,
    "s3": _s3,
    "secretsmanager": _secretsmanager,
    "events": _events,
}


_KMS_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("sqs", "SendMessage"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "SendMessageBatch"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "ReceiveMessage"): ("kms:Decrypt",),
    ("sns", "Publish"): ("kms:GenerateDataKey", "kms:Decrypt"),
}


def _kms(
    service: str, operation: str, params: Mapping[str, Any], region: str, kms_of: KmsLookup
) -> list[Request]:
    """The KMS authorizations of writing to (or reading from) a resource under a customer managed key."""
    actions = _KMS_ACTIONS.get((service, operation), ())
    if service == "sqs" and params.get("QueueUrl"):
        target = queue_arn(str(params["QueueUrl"]), region)
    elif service == "sns" and params.get("TopicArn"):
        target = str(params["TopicArn"])
    else:
        return []
    if not actions:
        return []
    key = kms_of(target)
    return [Request(action, (key,)) for action in actions] if key else []
