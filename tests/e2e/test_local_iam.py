"""The local stack runs each function under the IAM role SAM generates for it: a grant missing from
template.yaml fails on the laptop exactly where it would fail on AWS, with the function and action."""

from __future__ import annotations

from pathlib import Path

from infra.local.client import LocalClient
from infra.local.stack import LocalStack
from infra.template import TEMPLATE_PATH, Template, load

LEAD = {"email": "ana@example.com", "first_name": "Ana", "consent": True}
GRANT = (
    "              Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem]\n"
    "              Resource: !GetAtt ContactsTable.Arn\n"
    "            - Sid: EnrollInTheWelcomeSeries"
)


def test_a_lead_post_is_refused_when_the_role_lacks_the_write_aws_would_refuse(tmp_path: Path) -> None:
    text = TEMPLATE_PATH.read_text()
    assert GRANT in text, "CaptureLead's grant on the contacts table moved: update this test"
    broken = tmp_path / "template.yaml"
    broken.write_text(text.replace(GRANT, GRANT.replace("dynamodb:PutItem, ", "")))
    # Parsed from the broken copy, resolved as the project's template (CodeUri relative to the repo).
    template = Template(body=load(broken), path=TEMPLATE_PATH)

    with LocalStack(template, port=0, log_requests=False, log=lambda _: None) as stack:
        answer = LocalClient(stack.url).post("/leads", json=LEAD)
        denials = list(stack.deployment.denials)

    assert answer.status == 500
    assert denials == [
        "CaptureLeadFunction: dynamodb:PutItem on "
        "arn:aws:dynamodb:eu-west-1:123456789012:table/crm-local-ContactsTable"
    ]


def test_the_same_post_succeeds_with_the_template_as_it_is() -> None:
    with LocalStack(Template(), port=0, log_requests=False, log=lambda _: None) as stack:
        answer = LocalClient(stack.url).post("/leads", json=LEAD)
        assert stack.deployment.denials == []
    assert answer.status == 201


def test_the_stack_refuses_to_start_on_a_template_cloudformation_would_refuse(tmp_path: Path) -> None:
    import pytest

    from infra.aws_rules.transform import TransformRejected

    broken = tmp_path / "template.yaml"
    broken.write_text(
        TEMPLATE_PATH.read_text().replace("EnableIamAuthorizer: true", "EnableIamAuthorizer: false")
    )
    stack = LocalStack(Template(body=load(broken), path=TEMPLATE_PATH), port=0, log=lambda _: None)
    with pytest.raises(TransformRejected, match="AWS_IAM"):
        stack.start()
    # and it let go of everything: a good stack starts right after
    with LocalStack(Template(), port=0, log_requests=False, log=lambda _: None) as good:
        assert LocalClient(good.url).get("/_local/schedules").status == 200
