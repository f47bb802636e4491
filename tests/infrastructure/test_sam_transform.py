"""The SAM transform (aws-sam-translator, the code CloudFormation runs) accepts template.yaml, and
what it generates is what AWS gets: the HTTP API's authorizers and CORS, the functions' roles."""

from __future__ import annotations

from typing import Any

import pytest

from infra.aws_rules.transform import TransformRejected, sam_transform
from infra.template import TEMPLATE_PATH


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    return sam_transform()


def test_template_passes_the_sam_transform(transformed: dict[str, Any]) -> None:
    types = {resource["Type"] for resource in transformed["Resources"].values()}
    assert "AWS::Serverless::Function" not in types
    assert "AWS::Lambda::Function" in types and "AWS::IAM::Role" in types


def test_transform_refuses_an_iam_route_on_an_api_without_the_iam_authorizer(tmp_path) -> None:
    broken = TEMPLATE_PATH.read_text().replace("EnableIamAuthorizer: true", "EnableIamAuthorizer: false")
    path = tmp_path / "template.yaml"
    path.write_text(broken)
    with pytest.raises(TransformRejected) as refused:
        sam_transform(path)
    assert any("AWS_IAM" in cause for cause in refused.value.causes)


def test_iam_routes_are_signed_with_sigv4_in_the_api_definition(transformed: dict[str, Any]) -> None:
    body = transformed["Resources"]["HttpApi"]["Properties"]["Body"]
    scheme = body["components"]["securitySchemes"]["AWS_IAM"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"
    for path in ("/cases", "/cases/{case_id}", "/contacts/{contact_id}/loyalty"):
        assert body["paths"][path]["get"]["security"] == [{"AWS_IAM": []}], path
    assert "security" not in body["paths"]["/leads"]["post"], "the lead form is public"


def test_cors_reaches_aws_whole_after_the_transform(transformed: dict[str, Any]) -> None:
    cors = transformed["Resources"]["HttpApi"]["Properties"]["Body"]["x-amazon-apigateway-cors"]
    assert isinstance(cors, dict), f"the transform mangled CORS into {cors!r}"
    assert cors["allowOrigins"] == {"Fn::Split": [",", {"Ref": "AllowedOrigins"}]} or isinstance(
        cors["allowOrigins"], list
    )
    assert sorted(cors["allowMethods"]) == ["GET", "OPTIONS", "POST"]
    assert {"content-type", "idempotency-key", "authorization"} <= set(cors["allowHeaders"])
    assert cors["maxAge"] == 600
