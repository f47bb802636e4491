"""IAM enforced on every AWS call a function makes, in the tests and on the local stack (and
DynamoDB's item size limit counted as AWS counts it: `limits`).

`install()` adds a botocore hook to every client the process creates from then on (boto3's and
pynamodb's alike). While a function runs (`acting_as("CaptureLeadFunction")`, which the tests'
handler loader and the local runtime do around each invocation), each call is evaluated against the
policies of the role SAM generates for that function, read from the transformed template; a call
they do not allow raises the ClientError AWS raises (AccessDeniedException, AccessDenied,
AuthorizationError), with AWS's message, so the code fails exactly as it would in the cloud.
Outside a function (fixtures seeding data, the local stack provisioning itself) calls are not checked.

Every allowed call is recorded, so `unused_grants()` can list, per function, the grants no call
needed: the least-privilege review.
"""

from __future__ import annotations

import contextvars
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from infra.aws_rules.calls import requests_for
from infra.aws_rules.limits import check_item_size
from infra.aws_rules.policy import Decision, Request, Statement, as_list, evaluate, matches
from infra.aws_rules.transform import transform_body
from infra.template import ACCOUNT_ID, Template

# Managed policies SAM attaches to function roles, with their documents as AWS publishes them.
MANAGED_POLICIES: dict[str, list[dict[str, Any]]] = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": "*",
        }
    ],
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        },
    ],
}

# What each service answers to a denied call: (error code, HTTP status).
_DENIAL = {
    "s3": ("AccessDenied", 403),
    "sqs": ("AccessDenied", 403),
    "ses": ("AccessDenied", 403),
    "sns": ("AuthorizationError", 403),
}


class _CloudResolver(Template):
    """Resolves a transformed template's intrinsics as CloudFormation would in this local deployment."""

    def ref(self, logical_id: str) -> str:
        resource = self.resources.get(logical_id)
        if resource and resource.get("Type") == "AWS::SecretsManager::Secret":
            return self.arn(logical_id)  # Ref of a secret is its ARN
        return super().ref(logical_id)


@dataclass
class Deployment:
    """The functions' roles (as SAM generates them) of one deployment of a template."""

    template: Template
    _calls: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    denials: list[str] = field(default_factory=list)  # "Function: action on resource", in order
    # Record denials without raising them: to find every grant a new feature needs in one test run
    # (CRM_IAM_AUDIT=1), never to make a test pass.
    audit_only: bool = False

    @cached_property
    def transformed(self) -> _CloudResolver:
        parameters = {
            k: v
            for k, v in self.template.param_values.items()
            if k in self.template.body.get("Parameters", {})
        }
        body = transform_body(self.template.body, parameters, self.template.region)
        return _CloudResolver(
            body=body,
            stack=self.template.stack,
            region=self.template.region,
            parameters=parameters,
            path=self.template.path,
        )

    @cached_property
    def roles(self) -> dict[str, list[Statement]]:
        """Each Lambda function's role policies, resolved, by the function's logical id."""
        resolved = self.transformed
        found: dict[str, list[Statement]] = {}
        for logical_id, resource in resolved.of_type("AWS::Lambda::Function"):
            role = resource["Properties"]["Role"]
            if not (isinstance(role, dict) and "Fn::GetAtt" in role):
                raise ValueError(f"{logical_id}: only roles declared in the template can be checked")
            role_id = role["Fn::GetAtt"][0]
            found[logical_id] = self._role_statements(role_id)
        return found

    def _role_statements(self, role_id: str) -> list[Statement]:
        resolved = self.transformed
        props = resolved.resolve(resolved.resources[role_id]["Properties"])
        statements: list[Statement] = []
        for policy in props.get("Policies", []):
            for raw in as_list(policy["PolicyDocument"].get("Statement")):
                statements.append(Statement.parse(raw, source=f"{role_id}/{policy['PolicyName']}"))
        for arn in props.get("ManagedPolicyArns", []):
            if arn not in MANAGED_POLICIES:
                raise ValueError(f"{role_id}: managed policy {arn} is unknown to infra.aws_rules.enforce")
            statements += [Statement.parse(raw, source=arn) for raw in MANAGED_POLICIES[arn]]
        for logical_id, resource in resolved.of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            policy_props = resolved.resolve(resource["Properties"])
            attached = [str(r) for r in policy_props.get("Roles", [])]
            if resolved.physical_name(role_id) in attached or role_id in attached:
                for raw in as_list(policy_props["PolicyDocument"].get("Statement")):
                    statements.append(Statement.parse(raw, source=logical_id))
        return statements

    @cached_property
    def kms_keys(self) -> dict[str, str]:
        """Queue and topic ARNs -> the ARN of the customer managed key that encrypts them."""
        resolved = self.transformed
        found: dict[str, str] = {}
        aliases: dict[str, str] = {}
        for _, alias in resolved.of_type("AWS::KMS::Alias"):
            target = alias["Properties"].get("TargetKeyId")
            if isinstance(target, dict) and "Ref" in target:
                aliases[str(alias["Properties"]["AliasName"])] = resolved.arn(str(target["Ref"]))
        for logical_id, resource in resolved.of_type("AWS::SQS::Queue", "AWS::SNS::Topic"):
            key = resolved.resolve(resource.get("Properties", {}).get("KmsMasterKeyId"))
            if not key or str(key).startswith("alias/aws/") or ":alias/aws/" in str(key):
                continue  # an AWS managed key's policy lets the account's principals use it via the service
            key = str(key)
            if key.startswith("alias/"):
                key = aliases.get(key, f"arn:aws:kms:{resolved.region}:{ACCOUNT_ID}:{key}")
            elif not key.startswith("arn:"):
                key = f"arn:aws:kms:{resolved.region}:{ACCOUNT_ID}:key/{key}"
            found[resolved.arn(logical_id)] = key
        return found

    def function_name(self, logical_id: str) -> str:
        return self.template.physical_name(logical_id)

    def check(self, function: str, service: str, operation: str, params: Mapping[str, Any]) -> list[Decision]:
        """The decisions for one call made by `function`; records what was allowed."""
        statements = self.roles.get(function)
        if statements is None:
            raise KeyError(f"{function} is not a function of the template")
        requests = [
            self._sending_identity(r)
            for r in requests_for(service, operation, params, self.template.region, self.kms_keys.get)
        ]
        decisions = [evaluate(statements, request) for request in requests]
        with _lock:
            for decision in decisions:
                if decision.allowed:
                    self._calls[function].add((decision.request.action, decision.resource))
                else:
                    self.denials.append(f"{function}: {decision.request.action} on {decision.resource}")
        return decisions

    def usage(self) -> dict[str, list[str]]:
        """Per function, every action-on-resource its calls needed (allowed or not), sorted."""
        with _lock:
            used = {k: {f"{a} on {r}" for a, r in v} for k, v in self._calls.items()}
            for denial in self.denials:
                function, _, what = denial.partition(": ")
                used.setdefault(function, set()).add(what)
        return {k: sorted(v) for k, v in sorted(used.items())}

    @cached_property
    def verified_identities(self) -> set[str]:
        """SES identities of this deployment: the template's, and the sender the user verified beforehand."""
        found = {
            str(self.template.resolve(r["Properties"]["EmailIdentity"])).lower()
            for _, r in self.template.of_type("AWS::SES::EmailIdentity")
        }
        sender = self.template.param_values.get("SenderAddress")
        return found | ({sender.lower()} if sender else set())

    def _sending_identity(self, request: Request) -> Request:
        """SES authorizes a send on the identity it uses: the address if verified, else its domain."""
        if not request.action.startswith("ses:Send") or len(request.resources) != 2:
            return request
        address, domain = request.resources
        chosen = address if address.rpartition("/")[2].lower() in self.verified_identities else domain
        return replace(request, resources=(chosen,))

    def lists_bucket(self, function: str, bucket: str, key: str) -> bool:
        """Whether the role may list where `key` is: else S3 answers a missing object with 403, not 404."""
        request = Request("s3:ListBucket", (f"arn:aws:s3:::{bucket}",), {"s3:prefix": key})
        return evaluate(self.roles[function], request).allowed

    def record(self) -> dict[str, set[tuple[str, str]]]:
        """Per function, every (action, resource) that a call needed and was allowed."""
        with _lock:
            return {k: set(v) for k, v in self._calls.items()}

    def unused_grants(
        self, exercised: Mapping[str, set[tuple[str, str]]] | None = None
    ) -> dict[str, list[str]]:
        """Per function, each granted action-on-resource that no recorded call needed.

        Grants the Lambda service itself uses (managed policies, on-failure destinations) are left out.
        """
        exercised = self.record() if exercised is None else exercised
        report: dict[str, list[str]] = {}
        for function, statements in self.roles.items():
            calls = exercised.get(function, set())
            unused = []
            for statement in statements:
                if statement.effect != "Allow" or _used_by_lambda_itself(statement):
                    continue
                for action in statement.actions:
                    for resource in statement.resources:
                        if not any(
                            matches(action, a, ignore_case=True) and matches(resource, r) for a, r in calls
                        ):
                            unused.append(f"{action} on {resource}")
            if unused:
                report[function] = sorted(set(unused))
        return report


def _used_by_lambda_itself(statement: Statement) -> bool:
    """Managed policies (logs, X-Ray, the SQS poller) and SAM's destination policies serve the Lambda
    service, not our code: no call of ours needs them."""
    return statement.source in MANAGED_POLICIES or "EventInvokeConfig" in statement.source


# ---- the hook --------------------------------------------------------------------------------------
_lock = threading.Lock()
_current: contextvars.ContextVar[tuple[Deployment, str] | None] = contextvars.ContextVar(
    "aws_rules_function", default=None
)
_installed = False


@contextmanager
def acting_as(deployment: Deployment, function: str) -> Iterator[None]:
    """Every AWS call made inside is checked against `function`'s role in `deployment`."""
    if function not in deployment.roles:
        raise KeyError(f"{function} is not a function of {deployment.template.path.name}")
    token = _current.set((deployment, function))
    try:
        yield
    finally:
        _current.reset(token)


def install() -> None:
    """Hook every botocore client created from now on (idempotent)."""
    global _installed  # noqa: PLW0603 - one process-wide patch, applied once
    if _installed:
        return
    from botocore.client import ClientCreator

    original = ClientCreator.create_client

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        service = client.meta.service_model.service_name
        client.meta.events.register("before-parameter-build", _checker(service, client.meta.region_name))
        if service == "s3":
            client.meta.events.register("after-call.s3", _missing_object_is_denied)
        if service == "dynamodb":  # the limit holds for every caller, inside a function or not
            client.meta.events.register("before-parameter-build.dynamodb", check_item_size)
        return client

    ClientCreator.create_client = create_client  # type: ignore[method-assign]
    _installed = True


def _missing_object_is_denied(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """S3 answers a missing object with 403 AccessDenied to a caller that may not list the bucket."""
    error = parsed.get("Error", {})
    if context.get(_NO_LIST) and error.get("Code") in {"NoSuchKey", "404"}:
        parsed["Error"] = {"Code": "AccessDenied", "Message": "Access Denied"}
        parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = 403


_NO_LIST = "aws_rules_cannot_list_bucket"


def _checker(service: str, region: str | None) -> Any:
    def check(params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        active = _current.get()
        if active is None:
            return
        deployment, function = active
        for decision in deployment.check(function, service, model.name, params):
            if not decision.allowed and not deployment.audit_only:
                raise access_denied(deployment, function, service, model.name, decision)
        if service == "s3" and model.name in {"GetObject", "HeadObject"}:
            context[_NO_LIST] = not deployment.lists_bucket(function, params["Bucket"], params["Key"])

    return check


def access_denied(
    deployment: Deployment, function: str, service: str, operation: str, decision: Decision
) -> Any:
    """The ClientError AWS raises for a denied call, with its message shape."""
    from botocore.exceptions import ClientError

    code, status = _DENIAL.get(service, ("AccessDeniedException", 400))
    name = deployment.function_name(function)
    role = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{name}-role/{name}"
    why = (
        f"with an explicit deny in an identity-based policy ({decision.explicit_deny.source})"
        if decision.explicit_deny
        else f"because no identity-based policy allows the {decision.request.action} action"
    )
    message = (
        f"User: {role} is not authorized to perform: {decision.request.action} on resource: "
        f"{decision.resource} {why} [local IAM check: function {function}]"
    )
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)  # type: ignore[arg-type]
