"""Every service-to-service path of the template is allowed by its receiving side, as AWS checks it:
SES -> S3 bucket policy and Lambda permission, CloudWatch -> SNS (topic policy, KMS key), EventBridge,
SNS and API Gateway -> Lambda permissions, EventBridge -> its dead-letter queue (queue policy, key),
SQS -> the function's role, on-failure destinations -> the role. Each mutation below is a real
mistake that deploys fine and then silently fails on AWS; the check must name it."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.aws_rules.enforce import Deployment
from infra.aws_rules.principals import Paths
from infra.template import TEMPLATE_PATH, Template


def problems(text: str | None = None, tmp_path: Path | None = None) -> list[str]:
    path = TEMPLATE_PATH
    if text is not None:
        assert tmp_path is not None
        path = tmp_path / "template.yaml"
        path.write_text(text)
    return Paths(Deployment(Template(path=path))).problems()


def test_every_service_path_of_the_template_is_allowed() -> None:
    assert problems() == []


def mutated(old: str, new: str) -> str:
    text = TEMPLATE_PATH.read_text()
    assert old in text, f"the template no longer contains {old!r}: update this test"
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        pytest.param(
            "  AlarmTopic:\n    Type: AWS::SNS::Topic\n",
            "  AlarmTopic:\n    Type: AWS::SNS::Topic\n    Properties: { KmsMasterKeyId: alias/aws/sns }\n",
            "AWS managed key alias/aws/sns, which cloudwatch.amazonaws.com cannot use",
            id="alarm-topic-on-the-aws-managed-key",
        ),
        pytest.param(
            "      SqsManagedSseEnabled: true\n",
            "      KmsMasterKeyId: alias/aws/sqs\n",
            "AWS managed key alias/aws/sqs, which events.amazonaws.com cannot use",
            id="rule-dead-letters-on-the-aws-managed-key",
        ),
        pytest.param(
            'ArnEquals: { "aws:SourceArn": !GetAtt HandleSesNotificationsFunctionSesFeedback.Arn }',
            'ArnEquals: { "aws:SourceArn": !GetAtt TrackLifecycleFunctionSignals.Arn }',
            "cannot send dead letters to AsyncFailureQueue: its queue policy",
            id="dead-letter-policy-for-another-rule",
        ),
        pytest.param(
            "            DeadLetterConfig:\n              Arn: !GetAtt AsyncFailureQueue.Arn\n",
            "            DeadLetterConfig:\n              Arn: !GetAtt OrdersDeadLetterQueue.Arn\n",
            "cannot send dead letters to OrdersDeadLetterQueue: its queue policy",
            id="dead-letters-to-a-queue-without-policy",
        ),
        pytest.param(
            'Action: s3:PutObject\n            Resource: !Sub "${InboundMailBucket.Arn}/inbound/*"',
            'Action: s3:PutObject\n            Resource: !Sub "${InboundMailBucket.Arn}/other/*"',
            "cannot store mail in InboundMailBucket: bucket policy refuses it",
            id="bucket-policy-on-another-prefix",
        ),
        pytest.param(
            "      Principal: ses.amazonaws.com\n      SourceAccount",
            "      Principal: s3.amazonaws.com\n      SourceAccount",
            "cannot invoke",
            id="no-lambda-permission-for-ses",
        ),
    ],
)
def test_a_broken_service_path_is_named(old: str, new: str, named: str, tmp_path: Path) -> None:
    found = problems(mutated(old, new), tmp_path)
    assert any(named in problem for problem in found), found
