"""The SAM transform of template.yaml, as CloudFormation runs it (aws-sam-translator), cached per process.

CloudFormation refuses a template the transform rejects; cfn-lint 1.x and `sam validate --lint` no
longer run it. `CodeUri`/`ContentUri` become S3 URIs first, as `sam package` makes them.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from infra.template import TEMPLATE_PATH

_PACKAGED_URIS = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


class TransformRejected(ValueError):
    """The SAM transform refused the template; `causes` are its messages, one per problem."""

    def __init__(self, causes: list[str]) -> None:
        intro = "the SAM transform (what CloudFormation runs) rejects the template:"
        super().__init__(intro + "\n- " + "\n- ".join(causes))
        self.causes = causes


def sam_transform(
    path: Path = TEMPLATE_PATH, parameters: Mapping[str, str] | None = None, region: str = "eu-west-1"
) -> dict[str, Any]:
    """The transformed template (plain CloudFormation); raises TransformRejected with every cause."""
    text = Path(path).read_text(encoding="utf-8")
    params = tuple(sorted((parameters or {}).items()))
    return copy.deepcopy(_transform(text, params, region))


@cache
def _transform(text: str, parameters: tuple[tuple[str, str], ...], region: str) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    return transform_body(yaml_parse(text), dict(parameters), region)


def transform_body(body: dict[str, Any], parameters: Mapping[str, str], region: str) -> dict[str, Any]:
    """The transform of a template already read (intrinsics in their long form); the body is not changed."""
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform

    body = copy.deepcopy(body)  # the translator changes what it is given
    for resource in body.get("Resources", {}).values():
        key = _PACKAGED_URIS.get(resource.get("Type", ""))
        if key and isinstance(resource.get("Properties", {}).get(key), str):
            resource["Properties"][key] = f"s3://packaged/{key.lower()}.zip"
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator reads the region from the environment
    try:
        result: dict[str, Any] = transform(body, dict(parameters), _NoManagedPolicies())
    except InvalidDocumentException as exc:
        raise TransformRejected(sorted(str(cause) for cause in exc.causes)) from None
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous
    return result


class _NoManagedPolicies:
    """Managed policies are named by ARN in our template; by name they would need IAM (network)."""

    def load(self) -> dict[str, str]:
        return {}
