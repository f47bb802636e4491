"""AWS behaviours the IAM check reproduces beyond allow/deny, each driven through a real boto3 call
under moto: S3's 403 for a missing object the caller may not list, and the SES identity a send is
authorized on."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.aws_rules.enforce import Deployment, acting_as
from infra.template import TEMPLATE_PATH, Template, load

LIST_GRANT = (
    "            - Sid: TellAMissingMailFromADeniedOne\n"
    "              Effect: Allow\n"
    "              Action: s3:ListBucket\n"
)


def _deployment(tmp_path, old: str, new: str, within: str = "") -> Deployment:
    """The template with the first `old` after the line `within` (a resource's logical id) replaced."""
    text = TEMPLATE_PATH.read_text()
    start = text.index(f"\n  {within}:\n") if within else 0
    assert old in text[start:], f"{old!r} moved in template.yaml: update this test"
    path = tmp_path / "template.yaml"
    path.write_text(text[:start] + text[start:].replace(old, new, 1))
    return Deployment(Template(body=load(path)))


def test_a_missing_mail_is_not_found_for_a_role_that_may_list_the_prefix(stack) -> None:
    bucket = stack.env["INBOUND_MAIL_BUCKET"]
    with acting_as(Deployment(Template()), "RouteComplaintFunction"), pytest.raises(ClientError) as missing:
        boto3.client("s3").get_object(Bucket=bucket, Key="inbound/never-stored")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"


@pytest.mark.access_denied_expected
def test_without_list_bucket_a_missing_mail_is_access_denied_as_s3_answers(stack, tmp_path) -> None:
    deployment = _deployment(
        tmp_path, LIST_GRANT, LIST_GRANT.replace("s3:ListBucket", "s3:GetBucketLocation")
    )
    bucket = stack.env["INBOUND_MAIL_BUCKET"]
    with acting_as(deployment, "RouteComplaintFunction"), pytest.raises(ClientError) as missing:
        boto3.client("s3").get_object(Bucket=bucket, Key="inbound/never-stored")
    assert missing.value.response["Error"]["Code"] == "AccessDenied"


def test_a_send_is_authorized_on_the_verified_address_not_its_domain(stack, tmp_path) -> None:
    identity = '!Sub "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"'
    only_domain = '!Sub "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/example.com"'
    deployment = _deployment(tmp_path, identity, only_domain, within="SendFollowupsFunction")
    request = {
        "FromEmailAddress": stack.env["SENDER_ADDRESS"],
        "Destination": {"ToAddresses": ["ana@example.com"]},
        "Content": {"Raw": {"Data": b"From: crm@example.com\r\nTo: ana@example.com\r\n\r\nhi"}},
        "ConfigurationSetName": stack.env["SES_CONFIGURATION_SET"],
    }
    decisions = deployment.check("SendFollowupsFunction", "sesv2", "SendEmail", request)
    denied = [d for d in decisions if not d.allowed]
    assert [d.resource.rpartition(":")[2] for d in denied] == ["identity/crm@example.com"]
    assert deployment.denials
