"""Service-to-service paths of a transformed template, checked on the receiving side as AWS checks them.

Each path the template declares (SES storing mail in S3 and invoking a function, SES and CloudWatch
publishing to SNS, SNS, EventBridge and API Gateway invoking functions, EventBridge's dead letters,
SQS feeding a function, a function's on-failure destination) must be allowed by whoever receives it:
a bucket, topic or queue policy, a Lambda permission, a KMS key policy, or the function's own role.
`problems()` lists what AWS would refuse, each in a sentence naming both ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from infra.aws_rules.enforce import Deployment
from infra.aws_rules.policy import Request, Statement, as_list, evaluate
from infra.template import ACCOUNT_ID, Template


def service_statements(document: Mapping[str, Any], service: str, source: str) -> list[Statement]:
    """The statements of a resource policy that name `service` (or `*`) as principal, principal dropped."""
    found = []
    for raw in as_list(document.get("Statement")):
        principal = raw.get("Principal")
        names: list[str] = []
        if principal == "*":
            names = ["*"]
        elif isinstance(principal, Mapping):
            names = [str(p) for p in as_list(principal.get("Service"))] + [
                str(p) for p in as_list(principal.get("AWS"))
            ]
        if service in names or "*" in names:
            body = {k: v for k, v in raw.items() if k != "Principal"}
            found.append(Statement.parse(body, source=source))
    return found


class Paths:
    """The service-to-service paths of one deployment, and what would refuse them."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.t: Template = deployment.transformed
        self.region = self.t.region

    # ---- helpers --------------------------------------------------------------------------------
    def props(self, logical_id: str) -> dict[str, Any]:
        return self.t.resolve(self.t.resources[logical_id].get("Properties", {}))  # type: ignore[no-any-return]

    def logical_of(self, resource_type: str, value: str) -> str | None:
        """The logical id of the resource of that type whose Ref, Arn or name is `value`."""
        for logical_id, _ in self.t.of_type(resource_type):
            names = {self.t.ref(logical_id), self.t.arn(logical_id), self.t.physical_name(logical_id)}
            if value in names or value.rsplit(":", 1)[-1] in names:
                return logical_id
        return None

    def _key_problems(
        self, key_ref: Any, service: str, what: str, context: dict[str, str] | None = None
    ) -> Iterator[str]:
        """A KMS key a service principal must use: never AWS managed, and its policy must allow it."""
        key = str(key_ref or "")
        if not key:
            return
        if key.startswith("alias/aws/") or ":alias/aws/" in key:
            yield f"{what} is encrypted with the AWS managed key {key}, which {service} cannot use"
            return
        key_id = self.logical_of("AWS::KMS::Key", key) or (key if key in self.t.resources else None)
        if key_id is None:
            yield f"{what} uses KMS key {key}, which the template does not declare (its policy is unknown)"
            return
        policy = self.props(key_id).get("KeyPolicy", {})
        statements = service_statements(policy, service, f"{key_id} key policy")
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            request = Request(action, ("*",), context or {"aws:SourceAccount": ACCOUNT_ID})
            if not evaluate(statements, request).allowed:
                yield f"{what}: the policy of KMS key {key_id} does not allow {service} to {action}"

    def _topic_policy(self, topic_id: str) -> list[Statement] | None:
        """The statements of the topic's TopicPolicy; None when it keeps SNS's default policy."""
        topic_arn = self.t.arn(topic_id)
        for logical_id, _ in self.t.of_type("AWS::SNS::TopicPolicy"):
            props = self.props(logical_id)
            if topic_arn in [str(t) for t in props.get("Topics", [])]:
                return [
                    s
                    for service in ("ses.amazonaws.com", "cloudwatch.amazonaws.com")
                    for s in service_statements(props["PolicyDocument"], service, logical_id)
                ]
        return None

    def _invoke_allowed(self, function_arn: str, service: str, source_arn: str) -> bool:
        function_id = self.logical_of("AWS::Lambda::Function", function_arn)
        for logical_id, _ in self.t.of_type("AWS::Lambda::Permission"):
            props = self.props(logical_id)
            target = self.logical_of("AWS::Lambda::Function", str(props.get("FunctionName", "")))
            if target != function_id or props.get("Principal") != service:
                continue
            if props.get("Action") not in {"lambda:InvokeFunction", "lambda:*"}:
                continue
            context = {"aws:SourceArn": source_arn, "aws:SourceAccount": ACCOUNT_ID}
            body: dict[str, Any] = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}
            conditions: dict[str, dict[str, str]] = {}
            if props.get("SourceArn"):
                conditions["ArnLike"] = {"aws:SourceArn": str(props["SourceArn"])}
            if props.get("SourceAccount"):
                conditions["StringEquals"] = {"aws:SourceAccount": str(props["SourceAccount"])}
            if conditions:
                body["Condition"] = conditions
            request = Request("lambda:InvokeFunction", ("*",), context)
            if evaluate([Statement.parse(body)], request).allowed:
                return True
        return False

    def _role_allows(self, function_id: str, action: str, resource: str) -> bool:
        statements = self.deployment.roles[function_id]
        return evaluate(statements, Request(action, (resource,))).allowed

    # ---- the paths ------------------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Every service-to-service path the receiving side would refuse."""
        return sorted(
            {
                *self.ses_receipt_rules(),
                *self.ses_event_destinations(),
                *self.alarm_actions(),
                *self.subscriptions(),
                *self.schedules(),
                *self.rule_dead_letters(),
                *self.event_source_mappings(),
                *self.destinations(),
                *self.http_routes(),
            }
        )

    def ses_receipt_rules(self) -> Iterator[str]:
        for logical_id, _ in self.t.of_type("AWS::SES::ReceiptRule"):
            props = self.props(logical_id)
            rule = props["Rule"]
            rule_arn = (
                f"arn:aws:ses:{self.region}:{ACCOUNT_ID}:receipt-rule-set/{props['RuleSetName']}"
                f":receipt-rule/{rule.get('Name', logical_id)}"
            )
            context = {"aws:SourceArn": rule_arn, "aws:SourceAccount": ACCOUNT_ID}
            for action in rule.get("Actions", []):
                if "S3Action" in action:
                    yield from self._ses_to_bucket(logical_id, action["S3Action"], context)
                if "LambdaAction" in action:
                    function = str(action["LambdaAction"]["FunctionArn"])
                    if not self._invoke_allowed(function, "ses.amazonaws.com", rule_arn):
                        yield f"SES receipt rule {logical_id} cannot invoke {function}: no Lambda permission"
                if "SNSAction" in action:
                    topic = self.logical_of("AWS::SNS::Topic", str(action["SNSAction"]["TopicArn"]))
                    if topic:
                        key = self.props(topic).get("KmsMasterKeyId")
                        yield from self._key_problems(key, "ses.amazonaws.com", f"topic {topic}")

    def _ses_to_bucket(
        self, rule_id: str, action: Mapping[str, Any], context: dict[str, str]
    ) -> Iterator[str]:
        bucket_id = self.logical_of("AWS::S3::Bucket", str(action["BucketName"]))
        if bucket_id is None:
            yield f"SES receipt rule {rule_id} stores mail in a bucket the template does not declare"
            return
        statements: list[Statement] = []
        for logical_id, _ in self.t.of_type("AWS::S3::BucketPolicy"):
            props = self.props(logical_id)
            if self.logical_of("AWS::S3::Bucket", str(props["Bucket"])) == bucket_id:
                statements += service_statements(props["PolicyDocument"], "ses.amazonaws.com", logical_id)
        key = f"arn:aws:s3:::{self.t.physical_name(bucket_id)}/{action.get('ObjectKeyPrefix', '')}mail-id"
        request = Request("s3:PutObject", (key,), {**context, "aws:SecureTransport": "true"})
        if not evaluate(statements, request).allowed:
            yield f"SES receipt rule {rule_id} cannot store mail in {bucket_id}: bucket policy refuses it"
        encryption = self.props(bucket_id).get("BucketEncryption", {})
        for rule in encryption.get("ServerSideEncryptionConfiguration", []):
            default = rule.get("ServerSideEncryptionByDefault", {})
            if default.get("SSEAlgorithm") == "aws:kms":
                key_id = default.get("KMSMasterKeyID") or "alias/aws/s3"
                yield from self._key_problems(key_id, "ses.amazonaws.com", f"bucket {bucket_id}")

    def ses_event_destinations(self) -> Iterator[str]:
        for logical_id, _ in self.t.of_type("AWS::SES::ConfigurationSetEventDestination"):
            props = self.props(logical_id)
            sns = props["EventDestination"].get("SnsDestination")
            if not sns:
                continue
            topic = self.logical_of("AWS::SNS::Topic", str(sns["TopicARN"]))
            if topic is None:
                continue
            config_set = props["ConfigurationSetName"]
            source = f"arn:aws:ses:{self.region}:{ACCOUNT_ID}:configuration-set/{config_set}"
            policy = self._topic_policy(topic)
            request = Request(
                "sns:Publish",
                (self.t.arn(topic),),
                {"aws:SourceArn": source, "aws:SourceAccount": ACCOUNT_ID},
            )
            if policy is not None and not evaluate(policy, request).allowed:
                yield f"SES configuration set {config_set} cannot publish to {topic}: its topic policy"
            yield from self._key_problems(
                self.props(topic).get("KmsMasterKeyId"), "ses.amazonaws.com", f"topic {topic} (SES feedback)"
            )

    def alarm_actions(self) -> Iterator[str]:
        for logical_id, _ in self.t.of_type("AWS::CloudWatch::Alarm"):
            props = self.props(logical_id)
            for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
                for target in props.get(key, []):
                    topic = self.logical_of("AWS::SNS::Topic", str(target))
                    if topic is None:
                        continue
                    what = f"topic {topic} (alarm {logical_id})"
                    alarm = (
                        f"arn:aws:cloudwatch:{self.region}:{ACCOUNT_ID}:alarm:{props.get('AlarmName', '')}"
                    )
                    context = {"aws:SourceAccount": ACCOUNT_ID, "aws:SourceArn": alarm}
                    yield from self._key_problems(
                        self.props(topic).get("KmsMasterKeyId"), "cloudwatch.amazonaws.com", what, context
                    )
                    policy = self._topic_policy(topic)
                    request = Request("sns:Publish", (self.t.arn(topic),), context)
                    if policy is not None and not evaluate(policy, request).allowed:
                        yield f"alarm {logical_id} cannot publish to {topic}: no CloudWatch in topic policy"

    def subscriptions(self) -> Iterator[str]:
        for logical_id, _ in self.t.of_type("AWS::SNS::Subscription"):
            props = self.props(logical_id)
            if props.get("Protocol") == "lambda":
                topic, function = str(props["TopicArn"]), str(props["Endpoint"])
                if not self._invoke_allowed(function, "sns.amazonaws.com", topic):
                    yield f"SNS subscription {logical_id} cannot invoke {function}: no Lambda permission"

    def schedules(self) -> Iterator[str]:
        for logical_id, _ in self.t.of_type("AWS::Events::Rule"):
            props = self.props(logical_id)
            rule_arn = f"arn:aws:events:{self.region}:{ACCOUNT_ID}:rule/{self.t.physical_name(logical_id)}"
            for target in props.get("Targets", []):
                arn = str(target["Arn"])
                if ":function:" in arn and not self._invoke_allowed(arn, "events.amazonaws.com", rule_arn):
                    yield f"EventBridge rule {logical_id} cannot invoke {arn}: no Lambda permission"

    def rule_dead_letters(self) -> Iterator[str]:
        """An EventBridge rule's target DLQ: its queue policy must let EventBridge send for that rule, and
        its key must be one EventBridge may use (not the AWS managed alias/aws/sqs)."""
        for logical_id, _ in self.t.of_type("AWS::Events::Rule"):
            props = self.props(logical_id)
            rule_arn = f"arn:aws:events:{self.region}:{ACCOUNT_ID}:rule/{self.t.physical_name(logical_id)}"
            for target in props.get("Targets", []):
                arn = str(target.get("DeadLetterConfig", {}).get("Arn", ""))
                if arn:
                    yield from self._dead_letter_problems(logical_id, rule_arn, arn)

    def _dead_letter_problems(self, rule_id: str, rule_arn: str, arn: str) -> Iterator[str]:
        queue = self.logical_of("AWS::SQS::Queue", arn)
        if queue is None:
            yield f"EventBridge rule {rule_id} sends dead letters to {arn}, which the template lacks"
            return
        statements: list[Statement] = []
        for policy_id, _ in self.t.of_type("AWS::SQS::QueuePolicy"):
            policy = self.props(policy_id)
            if queue in {self.logical_of("AWS::SQS::Queue", str(q)) for q in policy.get("Queues", [])}:
                statements += service_statements(policy["PolicyDocument"], "events.amazonaws.com", policy_id)
        context = {"aws:SourceArn": rule_arn, "aws:SourceAccount": ACCOUNT_ID}
        if not evaluate(statements, Request("sqs:SendMessage", (arn,), context)).allowed:
            yield f"EventBridge rule {rule_id} cannot send dead letters to {queue}: its queue policy"
        key = self.props(queue).get("KmsMasterKeyId")
        what = f"queue {queue} (dead letters of rule {rule_id})"
        yield from self._key_problems(key, "events.amazonaws.com", what, context)

    def event_source_mappings(self) -> Iterator[str]:
        for logical_id, _ in self.t.of_type("AWS::Lambda::EventSourceMapping"):
            props = self.props(logical_id)
            source = str(props.get("EventSourceArn", ""))
            function = self.logical_of("AWS::Lambda::Function", str(props["FunctionName"]))
            if function is None or ":sqs:" not in source:
                continue
            for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
                if not self._role_allows(function, action, source):
                    yield f"{function} cannot poll {source}: its role lacks {action}"
            key = self.deployment.kms_keys.get(source)
            if key and not self._role_allows(function, "kms:Decrypt", key):
                yield f"{function} cannot read {source}: its role lacks kms:Decrypt on {key}"

    def destinations(self) -> Iterator[str]:
        for logical_id, _ in self.t.of_type("AWS::Lambda::EventInvokeConfig"):
            props = self.props(logical_id)
            function = self.logical_of("AWS::Lambda::Function", str(props["FunctionName"]))
            if function is None:
                continue
            for kind in ("OnFailure", "OnSuccess"):
                target = str(props.get("DestinationConfig", {}).get(kind, {}).get("Destination", ""))
                yield from self._destination_problems(function, kind, target)

    def _destination_problems(self, function: str, kind: str, target: str) -> Iterator[str]:
        action = "sqs:SendMessage" if ":sqs:" in target else "sns:Publish" if ":sns:" in target else ""
        if action and not self._role_allows(function, action, target):
            yield f"{function} cannot deliver {kind} records to {target}: its role lacks {action}"
        key = self.deployment.kms_keys.get(target)
        for kms_action in ("kms:GenerateDataKey", "kms:Decrypt") if key else ():
            if not self._role_allows(function, kms_action, str(key)):
                yield f"{function} cannot deliver {kind} records to {target}: no {kms_action}"
        if target and not action:
            yield f"{function}: {kind} destination {target} is of a kind this check does not know"

    def http_routes(self) -> Iterator[str]:
        for logical_id, _ in self.t.of_type("AWS::ApiGatewayV2::Api"):
            paths = self.t.resources[logical_id].get("Properties", {}).get("Body", {}).get("paths", {})
            for path, methods in paths.items():
                for method, operation in methods.items():
                    integration = operation.get("x-amazon-apigateway-integration", {})
                    uri = self.t.resolve(integration.get("uri", ""))
                    uri = str(uri)
                    if ":function:" not in uri:
                        continue
                    function_arn = uri.split("/functions/", 1)[1].split("/invocations", 1)[0]
                    api = f"arn:aws:execute-api:{self.region}:{ACCOUNT_ID}:{self.t.ref(logical_id)}"
                    source = f"{api}/*/{method.upper()}{path}"
                    if not self._invoke_allowed(function_arn, "apigateway.amazonaws.com", source):
                        route = f"{method.upper()} {path}"
                        yield f"route {route} cannot invoke {function_arn}: no Lambda permission"
