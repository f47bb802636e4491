"""make publish: the SAR metadata, the files it names and the transform are checked offline, and the dry
run prints the exact sam commands. No SAM CLI, no AWS, no network: a real run's subprocess is refused."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra import publish
from infra.version import pyproject_version

SAM = ".tools/sam/bin/sam"


@pytest.fixture
def no_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"publish ran a command: {args}")

    monkeypatch.setattr(subprocess, "run", refuse)


def test_dry_run_checks_the_template_offline_and_prints_the_exact_commands(
    capsys: pytest.CaptureFixture[str], no_subprocess: None
) -> None:
    status = publish.main(
        ["--dry-run", "--sam", SAM, "--bucket", "my-sar-artifacts", "--region", "eu-west-1"]
    )

    out, err = capsys.readouterr()
    assert status == 0
    assert out.splitlines() == [
        "make build",
        f"{SAM} package --template-file .aws-sam/build/template.yaml --output-template-file "
        ".aws-sam/packaged.yaml --s3-bucket my-sar-artifacts --region eu-west-1",
        f"{SAM} publish --template .aws-sam/packaged.yaml --region eu-west-1",
    ]
    assert f"crm-automation {pyproject_version()}" in err
    assert "SAM transform check out" in err


def test_the_project_template_has_valid_complete_metadata() -> None:
    report = publish.check()

    assert report.problems == []
    assert report.metadata["SemanticVersion"] == pyproject_version()
    assert report.metadata["SpdxLicenseId"] == "Apache-2.0"
    assert {"LicenseUrl": "LICENSE", "ReadmeUrl": "README.md"}.items() <= report.metadata.items()


def test_a_real_publish_refuses_placeholder_urls_and_a_missing_bucket(
    capsys: pytest.CaptureFixture[str], no_subprocess: None
) -> None:
    status = publish.main(["--sam", SAM])

    err = capsys.readouterr().err
    assert status == 2
    assert "refusing to publish" in err
    assert "no S3 bucket" in err
    assert "HomePageUrl is a placeholder" in err


def _project(tmp_path: Path, metadata: str, *, license_text: str = "Apache License\nVersion 2.0\n") -> Path:
    (tmp_path / "LICENSE").write_text(license_text, encoding="utf-8")
    (tmp_path / "README.md").write_text("# App\n", encoding="utf-8")
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def handler(event, context):\n    return 1\n", encoding="utf-8")
    template = tmp_path / "template.yaml"
    template.write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Transform: AWS::Serverless-2016-10-31\n"
        "Metadata:\n"
        "  AWS::ServerlessRepo::Application:\n"
        f"{metadata}"
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      CodeUri: fn/\n"
        "      Handler: app.handler\n"
        "      Runtime: python3.12\n",
        encoding="utf-8",
    )
    return template


GOOD = (
    "    Name: my-app\n"
    "    Description: An app.\n"
    "    Author: some-one\n"
    "    SpdxLicenseId: Apache-2.0\n"
    "    LicenseUrl: LICENSE\n"
    "    ReadmeUrl: README.md\n"
    "    Labels: [crm]\n"
    "    HomePageUrl: https://code.test/my-app\n"
    "    SemanticVersion: 1.2.3\n"
    "    SourceCodeUrl: https://code.test/my-app\n"
)


def test_a_good_template_passes_every_check_including_the_transform(tmp_path: Path) -> None:
    report = publish.check(_project(tmp_path, GOOD), expected_version="1.2.3")

    assert report.problems == []
    assert report.placeholders == []


def test_every_invalid_field_is_reported(tmp_path: Path) -> None:
    bad = (
        "    Name: my app\n"
        "    Description: An app.\n"
        "    Author: Some One\n"
        "    SpdxLicenseId: Apache-2\n"
        "    LicenseUrl: LICENSE\n"
        "    ReadmeUrl: MISSING.md\n"
        "    Labels: [crm, 'not ok']\n"
        "    HomePageUrl: http://code.test/my-app\n"
        "    SemanticVersion: '1.2'\n"
        "    SourceCodeUrl: https://example.com/my-app\n"
    )
    report = publish.check(_project(tmp_path, bad), expected_version="1.2.3", transform=False)

    text = "\n".join(report.problems)
    for expected in (
        "Name 'my app'",
        "Author 'Some One'",
        "SpdxLicenseId 'Apache-2' is not an SPDX license id",
        "ReadmeUrl 'MISSING.md': no such file",
        "Label 'not ok'",
        "HomePageUrl 'http://code.test/my-app' is not an https URL",
        "SemanticVersion '1.2' is not a semantic version",
    ):
        assert expected in text
    assert [p.split(" is ")[0] for p in report.placeholders] == ["SourceCodeUrl"]


def test_a_version_behind_pyproject_an_empty_license_and_a_missing_block_are_reported(tmp_path: Path) -> None:
    report = publish.check(
        _project(tmp_path, GOOD, license_text=""), expected_version="1.3.0", transform=False
    )
    assert any("differs from pyproject.toml's '1.3.0'" in p for p in report.problems)
    assert any("LicenseUrl 'LICENSE' is empty" in p for p in report.problems)

    bare = tmp_path / "bare.yaml"
    bare.write_text("Resources:\n  T:\n    Type: AWS::SNS::Topic\n", encoding="utf-8")
    assert "no Metadata: AWS::ServerlessRepo::Application" in publish.check(bare, transform=False).problems[0]


def test_a_template_the_sam_transform_rejects_is_not_published(tmp_path: Path) -> None:
    template = _project(tmp_path, GOOD)
    text = template.read_text(encoding="utf-8")
    # An IAM-authorized route without EnableIamAuthorizer on an HttpApi: CloudFormation refuses it.
    template.write_text(
        text + "      Events:\n"
        "        Get:\n"
        "          Type: HttpApi\n"
        "          Properties: {ApiId: !Ref Api, Path: /x, Method: GET, Auth: {Authorizer: AWS_IAM}}\n"
        "  Api:\n"
        "    Type: AWS::Serverless::HttpApi\n",
        encoding="utf-8",
    )

    report = publish.check(template, expected_version="1.2.3")

    assert any(p.startswith("the SAM transform rejects the template") for p in report.problems)
