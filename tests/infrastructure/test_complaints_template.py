"""The complaints intake in template.yaml: SES stores, then invokes; the function reads what SES stored."""

from __future__ import annotations

from infra.template import Template


def test_the_receipt_rule_stores_the_mail_before_invoking_the_function(template: Template) -> None:
    (rule,) = [r for _, r in template.of_type("AWS::SES::ReceiptRule")]
    actions = rule["Properties"]["Rule"]["Actions"]
    assert [next(iter(a)) for a in actions] == ["S3Action", "LambdaAction"]
    s3, invoke = actions[0]["S3Action"], actions[1]["LambdaAction"]
    env = template.environment()
    assert template.resolve(s3["BucketName"]) == env["INBOUND_MAIL_BUCKET"]
    assert s3["ObjectKeyPrefix"] == env["INBOUND_MAIL_PREFIX"]
    assert invoke["InvocationType"] == "Event"
    assert invoke["FunctionArn"] == {"Fn::GetAtt": ["RouteComplaintFunction", "Arn"]}
    assert rule["Properties"]["Rule"]["ScanEnabled"] is True


def test_only_ses_of_this_account_and_rule_set_may_write_the_inbound_bucket(template: Template) -> None:
    policy = template.resources["InboundMailBucketPolicy"]["Properties"]["PolicyDocument"]
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "ses.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    assert set(allow["Condition"]) == {"StringEquals", "ArnLike"}
    bucket = template.resources["InboundMailBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == {
        "Ref": "InboundMailRetentionDays"
    }
    permission = template.resources["RouteComplaintSesPermission"]["Properties"]
    assert permission["Principal"] == "ses.amazonaws.com" and "SourceAccount" in permission


def test_the_escalator_runs_every_five_minutes(template: Template) -> None:
    function = template.functions()["EscalateCasesFunction"]
    assert function.events["EveryFiveMinutes"]["Properties"]["Schedule"] == "rate(5 minutes)"


def test_the_local_receipt_rule_accepts_labelled_addresses_as_ses_does() -> None:
    from infra.local.triggers import _rule_accepts

    assert _rule_accepts(["support@example.com"], "Support+c-7q4m2x.abcdefghij@example.com")
    assert not _rule_accepts(["support@example.com"], "sales+support@example.com")
    assert _rule_accepts(["example.com"], "anyone@example.com")
