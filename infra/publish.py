"""`python -m infra.publish`: publish the application to the AWS Serverless Application Repository.

`make publish` runs it: first `--check` (offline, no credentials), then `make build`, then
`sam package` (uploads the built functions, layer, README and LICENSE to `--bucket`, and writes the
packaged template) and `sam publish` (creates the application, or a new version of it).
`make publish DRY_RUN=1` checks and prints both commands without running anything.

The check: the template's `AWS::ServerlessRepo::Application` metadata has every field SAR needs and
each is valid (name, author and label patterns, lengths, a semantic version equal to pyproject.toml's,
one SPDX license id, https URLs that are not example.com placeholders); the README and LICENSE it
names exist, are non-empty and under SAR's 5 MB; every CodeUri/ContentUri folder exists; and the
template passes the SAM transform. The bucket must allow `serverlessrepo.amazonaws.com` to read its
objects (docs/deploying.md, "Publishing to the Serverless Application Repository").
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SAM = str(ROOT / ".tools" / "sam" / "bin" / "sam")
SAR_METADATA = "AWS::ServerlessRepo::Application"
BUILT_TEMPLATE = ".aws-sam/build/template.yaml"
PACKAGED_TEMPLATE = ".aws-sam/packaged.yaml"
MAX_FILE_BYTES = 5 * 1024 * 1024  # SAR's limit for the README and the license
MAX_LABELS = 10
# SAR's own constraints (AWS SAM developer guide, "Metadata section properties").
_NAME = re.compile(r"[a-zA-Z0-9\-]{1,140}")
_AUTHOR = re.compile(r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?")
_LABEL = re.compile(r"[a-zA-Z0-9+\-_:/@]{1,127}")
# semver.org's regular expression for a version (2.0.0).
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_PLACEHOLDER_HOSTS = ("example.com", "example.org", "example.net")
_PACKAGED = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


class PublishError(Exception):
    """A publish that must not start; the message lists every problem found."""


@dataclass
class Report:
    """What the check found: problems refuse a publish; warnings only refuse a real one."""

    metadata: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)


def check(
    template_path: Path | None = None,
    *,
    expected_version: str | None = None,
    transform: bool = True,
) -> Report:
    """Check the template's SAR metadata, the files it names, the packaged folders and the transform.

    `expected_version` defaults to pyproject.toml's version. Never raises for what it checks: every
    problem is in the report (a template that cannot be read at all raises ValueError).
    """
    from infra.template import TEMPLATE_PATH, load
    from infra.version import pyproject_version

    path = template_path or TEMPLATE_PATH
    body = load(path)
    report = Report()
    metadata = body.get("Metadata", {}).get(SAR_METADATA)
    if not isinstance(metadata, Mapping):
        report.problems.append(f"template has no Metadata: {SAR_METADATA} block")
        metadata = {}
    report.metadata = dict(metadata)
    version = expected_version if expected_version is not None else pyproject_version()
    report.problems += _check_fields(report.metadata, version)
    report.problems += _check_files(report.metadata, path.parent)
    report.problems += _check_code_folders(body, path.parent)
    report.placeholders = _placeholder_urls(report.metadata)
    if transform:
        report.problems += _check_transform(path)
    return report


def _check_fields(metadata: Mapping[str, Any], version: str) -> list[str]:
    problems = _check_present(metadata) + _check_names(metadata)
    problems += _check_labels(metadata.get("Labels", []))
    problems += _check_version(metadata.get("SemanticVersion"), version)
    spdx = metadata.get("SpdxLicenseId")
    if isinstance(spdx, str) and spdx:
        problems += _check_spdx(spdx)
    for key in ("HomePageUrl", "SourceCodeUrl"):
        url = metadata.get(key)
        if isinstance(url, str) and (urlparse(url).scheme != "https" or not urlparse(url).hostname):
            problems.append(f"{key} {url!r} is not an https URL")
    return problems


def _check_names(metadata: Mapping[str, Any]) -> list[str]:
    problems = []
    name, author = str(metadata.get("Name", "")), str(metadata.get("Author", ""))
    if name and not _NAME.fullmatch(name):
        problems.append(f"Name {name!r}: letters, digits and '-' only, up to 140")
    if len(str(metadata.get("Description", ""))) > 256:
        problems.append("Description: longer than SAR's 256 characters")
    if author and (len(author) > 127 or not _AUTHOR.fullmatch(author)):
        problems.append(
            f"Author {author!r}: lowercase letters, digits and single '-' between them, up to 127"
        )
    return problems


def _check_present(metadata: Mapping[str, Any]) -> list[str]:
    problems = []
    for key in ("Name", "Description", "Author", "SpdxLicenseId", "LicenseUrl", "ReadmeUrl"):
        if not isinstance(metadata.get(key), str) or not metadata[key].strip():
            problems.append(f"{key} is missing (a non-empty string)")
    for key in ("SemanticVersion", "HomePageUrl", "SourceCodeUrl"):
        if not isinstance(metadata.get(key), str):
            problems.append(f"{key} is missing (a string)")
    for value in metadata.values():
        if isinstance(value, Mapping):
            problems.append(f"an intrinsic function in the metadata ({value}): SAR reads plain values only")
    return problems


def _check_version(semantic: Any, version: str) -> list[str]:
    if not isinstance(semantic, str):
        return []
    if not _SEMVER.fullmatch(semantic):
        return [f"SemanticVersion {semantic!r} is not a semantic version (MAJOR.MINOR.PATCH)"]
    if semantic != version:
        return [
            f"SemanticVersion {semantic!r} differs from pyproject.toml's {version!r} "
            "(python -m infra.version --write)"
        ]
    return []


def _check_labels(labels: Any) -> list[str]:
    if not isinstance(labels, list):
        return ["Labels must be a list"]
    problems = [
        f"Label {label!r}: letters, digits and + - _ : / @ only"
        for label in labels
        if not (isinstance(label, str) and _LABEL.fullmatch(label))
    ]
    if len(labels) > MAX_LABELS:
        problems.append(f"{len(labels)} Labels: SAR takes at most {MAX_LABELS}")
    return problems


def _check_spdx(spdx: str) -> list[str]:
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    try:
        canonical = canonicalize_license_expression(spdx)
    except InvalidLicenseExpression as exc:
        return [f"SpdxLicenseId {spdx!r} is not an SPDX license id ({exc})"]
    if canonical != spdx or " " in spdx:
        return [f"SpdxLicenseId {spdx!r}: one SPDX id, spelt as SPDX spells it ({canonical!r})"]
    return []


def _check_files(metadata: Mapping[str, Any], folder: Path) -> list[str]:
    problems = []
    for key in ("LicenseUrl", "ReadmeUrl"):
        value = metadata.get(key)
        if not isinstance(value, str) or not value:
            continue
        if value.startswith("s3://"):
            continue  # already packaged
        file = folder / value
        if not file.is_file():
            problems.append(f"{key} {value!r}: no such file beside the template")
        elif file.stat().st_size == 0:
            problems.append(f"{key} {value!r} is empty")
        elif file.stat().st_size > MAX_FILE_BYTES:
            problems.append(f"{key} {value!r} is larger than SAR's 5 MB")
        elif key == "LicenseUrl" and metadata.get("SpdxLicenseId") == "Apache-2.0":
            text = file.read_text(encoding="utf-8", errors="replace")
            if "Apache License" not in text or "Version 2.0" not in text:
                problems.append(f"{value!r} is not the Apache License 2.0 that SpdxLicenseId names")
    return problems


def _check_code_folders(body: Mapping[str, Any], folder: Path) -> list[str]:
    problems = []
    for logical_id, resource in body.get("Resources", {}).items():
        key = _PACKAGED.get(resource.get("Type", ""))
        uri = resource.get("Properties", {}).get(key) if key else None
        if isinstance(uri, str) and not uri.startswith("s3://") and not (folder / uri).is_dir():
            problems.append(f"{logical_id}: {key} {uri!r} is not a folder: sam package would fail")
    return problems


def _placeholder_urls(metadata: Mapping[str, Any]) -> list[str]:
    found = []
    for key in ("HomePageUrl", "SourceCodeUrl"):
        host = urlparse(str(metadata.get(key, ""))).hostname or ""
        if host in _PLACEHOLDER_HOSTS or host.endswith(tuple("." + h for h in _PLACEHOLDER_HOSTS)):
            found.append(
                f"{key} is a placeholder ({metadata[key]}): set it to the project's public repository"
            )
    return found


def _check_transform(path: Path) -> list[str]:
    from infra.aws_rules.transform import TransformRejected, sam_transform

    try:
        sam_transform(path)
    except TransformRejected as exc:
        return [f"the SAM transform rejects the template: {cause}" for cause in exc.causes]
    return []


def commands(bucket: str | None, *, region: str | None = None, sam: str = DEFAULT_SAM) -> list[list[str]]:
    """The exact `sam package` and `sam publish` argument lists, run from the project root after
    `make build` (a missing bucket shows as <S3_BUCKET>)."""
    regional = ["--region", region] if region else []
    package = [
        sam,
        "package",
        "--template-file",
        BUILT_TEMPLATE,
        "--output-template-file",
        PACKAGED_TEMPLATE,
        "--s3-bucket",
        bucket or "<S3_BUCKET>",
        *regional,
    ]
    publish = [sam, "publish", "--template", PACKAGED_TEMPLATE, *regional]
    return [package, publish]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.publish", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bucket", default="", help="S3 bucket for the packaged artifacts (SAR must read it)"
    )
    parser.add_argument("--region", default="", help="AWS region to publish in (default: your config's)")
    parser.add_argument("--sam", default=DEFAULT_SAM, help="the sam executable")
    parser.add_argument(
        "--template", type=Path, default=None, help="template to check (default: template.yaml)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="check offline and print the sam commands")
    mode.add_argument("--check", action="store_true", help="only check (before a build)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Check, then print or run `sam package` and `sam publish`: their status, 2 when refused."""
    args = build_parser().parse_args(argv)
    report = check(args.template)
    problems = _refusals(report, args)
    if problems:
        print("publish: refusing to publish:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    metadata = report.metadata
    print(
        f"publish: {metadata['Name']} {metadata['SemanticVersion']} by {metadata['Author']} "
        f"({metadata['SpdxLicenseId']}): metadata, {metadata['ReadmeUrl']}, {metadata['LicenseUrl']}, "
        "code folders and the SAM transform check out",
        file=sys.stderr,
    )
    planned = commands(args.bucket or None, region=args.region or None, sam=args.sam)
    if args.check:
        return 0
    if args.dry_run:
        print("make build")
        for command in planned:
            print(shlex.join(command))
        return 0
    return _run(planned)


def _refusals(report: Report, args: argparse.Namespace) -> list[str]:
    """What refuses this publish; placeholders only refuse a real one (a dry run warns of them)."""
    real = not args.dry_run
    problems = report.problems + (report.placeholders if real else [])
    if real and not args.bucket:
        problems.append("no S3 bucket: make publish S3_BUCKET=<bucket SAR may read> (see docs/deploying.md)")
    for warning in [] if real else report.placeholders:
        print(f"publish: warning: {warning} (a real publish refuses it)", file=sys.stderr)
    return problems


def _run(planned: Sequence[Sequence[str]]) -> int:
    """Run the commands in order; the first failing one's status, else 0."""
    for command in planned:
        print(f"+ {shlex.join(command)}", file=sys.stderr)
        status = subprocess.run(command, cwd=ROOT, check=False).returncode  # noqa: S603 - the sam argv is built here from checked options, no shell
        if status:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
