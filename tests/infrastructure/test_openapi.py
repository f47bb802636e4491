"""The OpenAPI document is generated from the handlers' resolvers and agrees with the template."""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

from infra.cli import main
from infra.openapi import build_document, http_functions
from infra.template import Template


def test_the_document_lists_post_leads_with_its_answers_and_content_types(template: Template) -> None:
    document = build_document(template)
    validate(document)  # a valid OpenAPI 3.1 document
    operation = document["paths"]["/leads"]["post"]
    assert set(operation["responses"]) == {"200", "201", "303", "400", "413", "415", "503"}
    assert "422" not in operation["responses"]  # our 400 with field errors is the validation answer
    assert set(operation["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["email"] and "time_zone" in schema["properties"]
    errors = operation["responses"]["400"]["content"]["application/json"]["schema"]
    assert errors["properties"]["errors"]["items"]["required"] == ["field", "message"]


def test_every_http_route_of_the_template_is_documented(template: Template) -> None:
    document = build_document(template)
    for _, routes in http_functions(template).values():
        for method, path, _iam in routes:
            assert method.lower() in document["paths"].get(path, {}), f"{method} {path} is not documented"


def test_crm_openapi_writes_the_document(tmp_path: Path, capsys) -> None:
    out = tmp_path / "openapi.json"
    assert main(["openapi", "--output", str(out)]) == 0
    assert json.loads(out.read_text())["paths"]["/leads"]["post"]["summary"]
    assert "wrote" in capsys.readouterr().out


def test_a_route_whose_handler_has_no_resolver_is_still_documented(
    template: Template, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text("def lambda_handler(event, context):\n    return {'statusCode': 204}\n")
    body = json.loads(json.dumps(template.body))
    body["Resources"]["PlainFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "Description": "A handler without Powertools",
            "CodeUri": str(tmp_path),
            "Handler": "app.lambda_handler",
            "Events": {
                "Get": {
                    "Type": "HttpApi",
                    "Properties": {
                        "ApiId": {"Ref": "HttpApi"},
                        "Path": "/things/{thing_id}",
                        "Method": "GET",
                        "Auth": {"Authorizer": "AWS_IAM"},
                    },
                }
            },
        },
    }
    document = build_document(Template(body=body))
    validate(document)
    operation = document["paths"]["/things/{thing_id}"]["get"]
    assert operation["summary"] == "A handler without Powertools"
    assert operation["security"] == [{"sigv4": []}]
    assert "/leads" in document["paths"]
