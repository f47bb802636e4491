"""Read template.yaml and resolve what the local stack and the tests need from it.

The template is the single source of truth: tables, queues, buckets, topics, identities and each
function's environment are derived from it here, never listed a second time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"
SECRET_SUFFIX = "Loc4l1"  # noqa: S105 - a name suffix for local resources, not a secret


class _NoValue(str):
    """`Ref: AWS::NoValue`: dropped from the list or mapping that holds it, as CloudFormation does."""


NO_VALUE = _NoValue("")


def load(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain dicts, with !Ref/!GetAtt/!Sub tags as their long forms."""
    from cfnlint.decode import decode

    template, problems = decode(str(path))
    if problems or template is None:
        raise ValueError(f"cannot read {path}: {problems}")
    plain: dict[str, Any] = _plain(template)
    return plain


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


_INTRINSICS = frozenset(
    {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Split", "Fn::Select", "Fn::If", "Condition"}
)


@dataclass(frozen=True)
class Function:
    logical_id: str
    handler_path: Path  # functions/<name>/app.py
    handler_name: str  # lambda_handler
    environment: dict[str, str]
    events: dict[str, dict[str, Any]]
    properties: dict[str, Any]


@dataclass
class Template:
    """A template resolved for one local deployment (names derived from logical ids).

    `Template()` reads the project's template.yaml; `Template(path=...)` another one (test fixtures),
    whose `CodeUri`s are then relative to that file's folder, as SAM reads them.
    """

    body: dict[str, Any] = field(default_factory=dict)
    stack: str = "crm-local"
    region: str = "eu-west-1"
    parameters: dict[str, str] = field(default_factory=dict)
    path: Path = TEMPLATE_PATH

    def __post_init__(self) -> None:
        if not self.body:
            self.body = load(self.path)

    @property
    def base_dir(self) -> Path:
        """The folder CodeUri, ContentUri and other relative paths of the template start from."""
        return self.path.resolve().parent

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.body.get("Resources", {})  # type: ignore[no-any-return]

    def of_type(self, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """The resources of those types that this deployment creates (their Condition, if any, holds)."""
        for logical_id, resource in self.resources.items():
            if resource.get("Type") in types and self.exists(logical_id):
                yield logical_id, resource

    # ---- names and ARNs of the local deployment -------------------------------------------------
    def physical_name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        props = resource.get("Properties", {})
        explicit = {
            "AWS::DynamoDB::Table": "TableName",
            "AWS::SQS::Queue": "QueueName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::SNS::Topic": "TopicName",
            "AWS::Serverless::Function": "FunctionName",
            "AWS::SES::ConfigurationSet": "Name",
            "AWS::SecretsManager::Secret": "Name",
            "AWS::Events::EventBus": "Name",
        }.get(resource["Type"])
        if explicit and explicit in props:
            return str(self.resolve(props[explicit]))
        name = f"{self.stack}-{logical_id}"
        if resource["Type"] == "AWS::S3::Bucket":
            name = name.lower()
        if resource["Type"] == "AWS::SQS::Queue" and props.get("FifoQueue"):
            name += ".fifo"
        return name

    def ref(self, logical_id: str) -> str:
        if logical_id in self.param_values:
            return self.param_values[logical_id]
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": self.stack,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::Partition": "aws",
        }
        if logical_id == "AWS::NoValue":
            return NO_VALUE  # type: ignore[return-value]
        if logical_id in pseudo:
            return pseudo[logical_id]
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT_ID}/{self.physical_name(logical_id)}"
        if kind == "AWS::SNS::Topic":
            return self.arn(logical_id)
        return self.physical_name(logical_id)

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        service = {
            "AWS::DynamoDB::Table": f"dynamodb:{self.region}:{ACCOUNT_ID}:table/{name}",
            "AWS::SQS::Queue": f"sqs:{self.region}:{ACCOUNT_ID}:{name}",
            "AWS::SNS::Topic": f"sns:{self.region}:{ACCOUNT_ID}:{name}",
            "AWS::S3::Bucket": f"s3:::{name}",
            "AWS::Serverless::Function": f"lambda:{self.region}:{ACCOUNT_ID}:function:{name}",
            "AWS::Lambda::Function": f"lambda:{self.region}:{ACCOUNT_ID}:function:{name}",
            "AWS::IAM::Role": f"iam::{ACCOUNT_ID}:role/{name}",
            "AWS::Events::Rule": f"events:{self.region}:{ACCOUNT_ID}:rule/{name}",
            "AWS::Events::EventBus": f"events:{self.region}:{ACCOUNT_ID}:event-bus/{name}",
            "AWS::KMS::Key": f"kms:{self.region}:{ACCOUNT_ID}:key/{name}",
            # Secrets Manager appends six random characters; ours are fixed so policies can name them.
            "AWS::SecretsManager::Secret": (
                f"secretsmanager:{self.region}:{ACCOUNT_ID}:secret:{name}-{SECRET_SUFFIX}"
            ),
        }.get(kind, f"{kind.split('::')[1].lower()}:{self.region}:{ACCOUNT_ID}:{name}")
        return f"arn:aws:{service}"

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in {"QueueName", "TopicName", "Name"}:
            return self.physical_name(logical_id)
        if attribute == "QueueUrl":
            return self.ref(logical_id)
        return f"{self.physical_name(logical_id)}.{attribute}"

    @cached_property
    def param_values(self) -> dict[str, str]:
        values = {
            name: str(spec.get("Default", "")) for name, spec in self.body.get("Parameters", {}).items()
        }
        values.update(self.parameters)
        return values

    # ---- intrinsic functions --------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """Resolve Ref, GetAtt, Sub, Join, Split, Select, If (with the template's Conditions) recursively."""
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or next(iter(value)) not in _INTRINSICS:
            return {k: r for k, r in ((k, self.resolve(v)) for k, v in value.items()) if r is not NO_VALUE}
        ((key, arg),) = value.items()
        intrinsic = self._intrinsics.get(key)
        return intrinsic(arg) if intrinsic is not None else {key: self.resolve(arg)}

    @cached_property
    def _intrinsics(self) -> dict[str, Callable[[Any], Any]]:
        """One function per intrinsic the template uses, by its key."""
        return {
            "Ref": self.ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": lambda arg: str(arg[0]).join(str(p) for p in self.resolve(arg[1])),
            "Fn::Split": lambda arg: str(self.resolve(arg[1])).split(arg[0]),
            "Fn::Select": lambda arg: self.resolve(arg[1])[int(arg[0])],
            "Fn::If": lambda arg: self.resolve(arg[1] if self.condition(arg[0]) else arg[2]),
        }

    def _get_att(self, arg: Any) -> str:
        logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
        return self.get_att(logical_id, attribute)

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
        return re.sub(r"\$\{([^}!]+)\}", lambda m: self._sub_var(m.group(1), variables), text)

    def condition(self, name_or_expression: Any) -> bool:
        """The value of a named condition of the template (or of a condition expression)."""
        if isinstance(name_or_expression, str):
            return self.condition(self.body.get("Conditions", {})[name_or_expression])
        ((key, arg),) = name_or_expression.items()
        if key == "Fn::Equals":
            left, right = (str(self.resolve(a)) for a in arg)
            return left == right
        if key == "Fn::Not":
            return not self.condition(arg[0])
        if key == "Fn::And":
            return all(self.condition(a) for a in arg)
        if key == "Fn::Or":
            return any(self.condition(a) for a in arg)
        if key == "Condition":
            return self.condition(str(arg))
        raise ValueError(f"unsupported condition function {key}")

    def exists(self, logical_id: str) -> bool:
        """False for a resource whose Condition is false (CloudFormation does not create it)."""
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.condition(str(condition))

    def _sub_var(self, name: str, variables: Mapping[str, Any]) -> str:
        if name in variables:
            return str(variables[name])
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return self.get_att(logical_id, attribute)
        return self.ref(name)

    # ---- functions ------------------------------------------------------------------------------
    def functions(self) -> dict[str, Function]:
        """Every AWS::Serverless::Function with its handler file and fully resolved environment."""
        globals_ = self.body.get("Globals", {}).get("Function", {})
        global_env = globals_.get("Environment", {}).get("Variables", {})
        found: dict[str, Function] = {}
        for logical_id, resource in self.of_type("AWS::Serverless::Function"):
            props = resource.get("Properties", {})
            code_uri = Path(str(props.get("CodeUri", ".")))
            module, _, handler_name = str(props["Handler"]).rpartition(".")
            env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
            found[logical_id] = Function(
                logical_id=logical_id,
                handler_path=self.base_dir / code_uri / (module.replace(".", "/") + ".py"),
                handler_name=handler_name,
                environment={k: str(self.resolve(v)) for k, v in env.items()},
                events=props.get("Events", {}),
                properties=props,
            )
        return found

    def environment(self) -> dict[str, str]:
        """The Globals environment, resolved: what every function sees."""
        variables = (
            self.body.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        )
        return {k: str(self.resolve(v)) for k, v in variables.items()}
