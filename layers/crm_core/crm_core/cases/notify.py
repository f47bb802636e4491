"""Telling teams: a message on CaseQueue for the helpdesk, an alert on CaseAlertsTopic for people.

Both carry the team as a message attribute, so one queue and one topic serve every team: the
helpdesk filters on `queue`, each team's subscription on `team` (and `audience` for escalations).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from crm_core import aws
from crm_core.errors import RetryableError
from crm_core.settings import get_settings

if TYPE_CHECKING:
    from crm_core.cases.sla import Checkpoint
    from crm_core.models.cases import Case


def _attributes(values: dict[str, str]) -> dict[str, Any]:
    return {k: {"DataType": "String", "StringValue": v} for k, v in values.items() if v}


def summary(case: Case) -> dict[str, Any]:
    """What a helpdesk or an alert needs to know about a case (no message text: it stays in the CRM)."""
    return {
        "case_id": case.case_id,
        "status": case.status,
        "team": case.team,
        "priority": case.priority,
        "category": case.category,
        "subject": case.subject,
        "contact_id": case.contact_id,
        "tier": case.tier,
        "vip": bool(case.vip),
        "unverified": bool(case.unverified),
        "first_response_due": case.first_response_due,
        "resolution_due": case.resolution_due,
    }


def to_helpdesk(case: Case, queue: str, kind: str) -> None:
    """Put `case.opened` / `case.reply` on the case queue; raises RetryableError when SQS fails."""
    body = {"type": kind, **summary(case), "queue": queue}
    try:
        aws.sqs().send_message(
            QueueUrl=get_settings().case_queue_url,
            MessageBody=json.dumps(body, sort_keys=True),
            MessageAttributes=_attributes(
                {"team": case.team, "queue": queue, "priority": case.priority, "type": kind}
            ),
        )
    except Exception as exc:  # the caller's retry makes it happen; nothing is half-done
        raise RetryableError(f"case queue unavailable: {aws.error_code(exc) or type(exc).__name__}") from exc


def email_alert(case: Case, checkpoint: Checkpoint, address: str) -> None:
    """Email an SLA warning or escalation to `address` once (per case and checkpoint) through `deliver`.

    Raises RetryableError when SES fails (nothing was sent; the next run tries again).
    """
    from crm_core.messaging import Outcome, Outgoing, deliver  # noqa: PLC0415 - only the escalator sends
    from crm_core.models.contacts import contact_id_for  # noqa: PLC0415 - with the message engine above

    sent = deliver(
        Outgoing(
            contact_id=contact_id_for(address),
            to=address,
            kind="case-alert",
            occurrence=f"{case.case_id}.{checkpoint.mark}",
            template="case-alert",
            locale=get_settings().default_locale,
            context={
                **summary(case),
                "case_ref": f"[Case #{case.case_id}]",
                "breach": checkpoint.level > 0,
                "level": checkpoint.level,
                "target": checkpoint.target,
                "due": checkpoint.at.strftime("%Y-%m-%d %H:%M UTC"),
                "audience": checkpoint.notify,
            },
        )
    )
    if sent.outcome is Outcome.FAILED:
        raise RetryableError(f"SLA alert email not sent: {sent.reason}")


def alert(case: Case, checkpoint: Checkpoint) -> None:
    """Publish an SLA warning or escalation; raises RetryableError when SNS fails."""
    kind = "warning" if checkpoint.level == 0 else "breach"
    body = {
        "type": f"sla.{kind}",
        "target": checkpoint.target,
        "level": checkpoint.level,
        "audience": checkpoint.notify,
        **summary(case),
    }
    try:
        aws.sns().publish(
            TopicArn=get_settings().case_alerts_topic_arn,
            Subject=f"[{case.priority}] SLA {kind} on case {case.case_id}"[:100],
            Message=json.dumps(body, sort_keys=True),
            MessageAttributes=_attributes(
                {
                    "team": case.team,
                    "audience": checkpoint.notify,
                    "level": str(checkpoint.level),
                    "type": f"sla.{kind}",
                }
            ),
        )
    except Exception as exc:
        raise RetryableError(
            f"alerts topic unavailable: {aws.error_code(exc) or type(exc).__name__}"
        ) from exc
