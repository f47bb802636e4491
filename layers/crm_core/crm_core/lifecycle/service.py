"""Recompute a contact's stage, record the change with its reason, and carry out what it causes.

The stage lives on the contact item (attribute `lifecycle`, docs/lifecycle.md has the shape):

    {"stage": "commitment", "since": "...", "reason": "3 purchases in 12 months", "change_id": "...",
     "effects_done": "...", "history": [{"from", "to", "at", "reason", "cause"}, ...],
     "signals": {"engagements": 2, "seen": [...], "open_complaints": {"<case>": "<opened at>"}}}

and `lifecycle_review` ("YYYY-MM-DD#shard") puts the contact in the sparse `lifecycle-review` index
on the day time alone may change its stage; contacts whose stage cannot move by time are not in it.

Writes are conditional on the contact's version (bumped, as every writer of the contact does). The
effects of a change (bus event, win-back, bonus) run after it is recorded and are marked done with
`effects_done`: a crash in between is healed by the next evaluation, and each effect is idempotent
(the enrollment and the bonus are keyed by the change; the bus event carries `change_id`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_core import aws, clock
from crm_core.errors import RetryableError
from crm_core.lifecycle import bus
from crm_core.lifecycle.rules import Rules, load_rules
from crm_core.lifecycle.stages import Verdict, evaluate
from crm_core.observability import count, get_logger
from crm_core.settings import get_settings
from crm_core.sharding import shard_of

REVIEW_SHARDS = 4
ATTEMPTS = 5
SEEN_LIMIT = 20  # engagement signal ids remembered for replays
SIGNAL_KINDS = frozenset({"engaged", "complaint_opened", "complaint_resolved"})


CONTACT_TIME = (
    "%Y-%m-%dT%H:%M:%S.%f+0000"  # the contact's updated_at/created_at (pynamodb UTCDateTimeAttribute)
)


def contact_time(at: datetime) -> str:
    """`at` in the contact item's time format (UTC, to the second)."""
    return at.astimezone(UTC).strftime(CONTACT_TIME)


def review_key(day: Any, contact_id: str) -> str:
    """The review partition of a contact on `day`: the day and a shard that spreads the writes."""
    return f"{day.isoformat()}#{shard_of(contact_id, REVIEW_SHARDS)}"


def read_contact(contact_id: str) -> dict[str, Any] | None:
    """The contact item as plain Python (numbers as Decimal), or None."""
    return aws.read_item(get_settings().contacts_table, {"contact_id": contact_id})


def _write(contact: dict[str, Any], sets: dict[str, Any], removes: tuple[str, ...] = ()) -> bool:
    """SET/REMOVE top-level attributes on the version read; False if another writer came first."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - botocore only when a contact is written

    version = contact.get("version")
    names = {f"#a{i}": name for i, name in enumerate(sets)}
    values = {f":v{i}": aws.to_attribute(value) for i, value in enumerate(sets.values())}
    values[":next"] = {"N": str(int(version or 0) + 1)}
    expression = "SET " + ", ".join([f"#a{i} = :v{i}" for i in range(len(sets))] + ["version = :next"])
    if removes:
        names.update({f"#r{i}": name for i, name in enumerate(removes)})
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
    condition = "attribute_not_exists(version)"
    if version is not None:
        condition, values[":read"] = "version = :read", {"N": str(int(version))}
    try:
        aws.dynamodb().update_item(
            TableName=get_settings().contacts_table,
            Key={"contact_id": {"S": str(contact["contact_id"])}},
            UpdateExpression=expression,
            ConditionExpression=f"attribute_exists(contact_id) AND {condition}",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        return True
    except ClientError as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            return False
        if aws.is_transient(exc):
            raise RetryableError(f"DynamoDB is throttling: {aws.error_code(exc)}") from exc
        raise


def current_stage(contact: dict[str, Any]) -> tuple[str, str]:
    """(stage, since) as recorded; a contact never evaluated is exploring since it was created."""
    lifecycle = contact.get("lifecycle") or {}
    if lifecycle.get("stage"):
        return str(lifecycle["stage"]), str(lifecycle.get("since") or "")
    created = contact.get("created_at")
    try:
        since = (
            datetime.strptime(str(created), CONTACT_TIME).replace(tzinfo=UTC).isoformat() if created else ""
        )
    except ValueError:
        since = ""
    return "exploration", since


def _changed(contact: dict[str, Any], verdict: Verdict, cause: str, rules: Rules) -> dict[str, Any]:
    lifecycle = dict(contact.get("lifecycle") or {})
    before, _ = current_stage(contact)
    since = verdict.since.isoformat()
    change = {"from": before, "to": verdict.stage, "at": since, "reason": verdict.reason, "cause": cause}
    history = [*(lifecycle.get("history") or []), change][-rules.effects.history_limit :]
    lifecycle.update(
        stage=verdict.stage,
        since=since,
        reason=verdict.reason,
        change_id=f"{contact['contact_id']}:{verdict.stage}:{since}",
        history=history,
    )
    return lifecycle


def reevaluate(contact_id: str, *, cause: str, signal: dict[str, Any] | None = None) -> str | None:
    """Recompute the contact's stage at the clock's now (after applying `signal`, if any); returns the
    new stage when it changed, else None. Safe to repeat. Raises RetryableError."""
    rules, now = load_rules(), clock.now()
    for attempt in range(ATTEMPTS):
        contact = read_contact(contact_id)
        if contact is None:
            return None
        done, stage = _reevaluate_read(contact, now, rules, cause=cause, signal=signal)
        if done:
            return stage
        time.sleep(0.05 * (attempt + 1))
    raise RetryableError("the contact kept changing under the lifecycle evaluation; retry")


def _reevaluate_read(
    contact: dict[str, Any], now: datetime, rules: Rules, *, cause: str, signal: dict[str, Any] | None
) -> tuple[bool, str | None]:
    """One try of `reevaluate` on the contact as read: (False, None) when another writer came first,
    else (True, the new stage or None when it did not change)."""
    contact_id = str(contact["contact_id"])
    contact, verdict = _evaluated(contact, signal, now, rules)
    stage, _ = current_stage(contact)
    moved = verdict.stage != stage
    lifecycle = _changed(contact, verdict, cause, rules) if moved else contact["lifecycle"]
    review = review_key(verdict.review_on, contact_id) if verdict.review_on else None
    stored = contact.get("lifecycle") or {}
    if not moved and review == contact.get("lifecycle_review") and signal is None and stored:
        _settle(contact, rules)
        return True, None
    review_set, review_removed = _review_update(review)
    if not _write(
        contact, {"lifecycle": lifecycle, "updated_at": contact_time(now), **review_set}, review_removed
    ):
        return False, None
    if moved:
        count("LifecycleChanged")
        get_logger().info(
            "lifecycle stage changed",
            extra={"contact_id": contact_id, "to": verdict.stage, "reason": verdict.reason},
        )
    _settle({**contact, "lifecycle": lifecycle}, rules)
    return True, verdict.stage if moved else None


def _review_update(review: str | None) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The contact's place in the daily review index: set to `review`, or removed when time alone
    cannot change its stage."""
    if review:
        return {"lifecycle_review": review}, ()
    return {}, ("lifecycle_review",)


def _evaluated(
    contact: dict[str, Any], signal: dict[str, Any] | None, now: datetime, rules: Rules
) -> tuple[dict[str, Any], Verdict]:
    """The contact with `signal` applied to its lifecycle signals, and its verdict at `now`."""
    lifecycle = dict(contact.get("lifecycle") or {})
    lifecycle["signals"] = _with_signal(dict(lifecycle.get("signals") or {}), signal)
    contact = {**contact, "lifecycle": lifecycle}
    return contact, evaluate(contact, now, rules)


def _with_signal(signals: dict[str, Any], signal: dict[str, Any] | None) -> dict[str, Any]:
    if signal is None:
        return signals
    kind, ident, at = signal["kind"], str(signal["id"]), str(signal["at"])
    if kind == "engaged":
        seen = list(signals.get("seen") or [])
        if ident not in seen:
            signals["engagements"] = int(signals.get("engagements") or 0) + 1
            signals["last_engagement"] = str(signal.get("what") or "reply")
            signals["seen"] = [*seen, ident][-SEEN_LIMIT:]
    elif kind == "complaint_opened":
        complaints = dict(signals.get("open_complaints") or {})
        complaints.setdefault(ident, at)
        signals["open_complaints"] = complaints
    elif kind == "complaint_resolved":
        complaints = dict(signals.get("open_complaints") or {})
        complaints.pop(ident, None)
        signals["open_complaints"] = complaints
    return signals


def _settle(contact: dict[str, Any], rules: Rules) -> None:
    """Carry out the effects of the latest change once (each is idempotent on its own)."""
    lifecycle = contact.get("lifecycle") or {}
    change_id = lifecycle.get("change_id")
    if not change_id or lifecycle.get("effects_done") == change_id or not lifecycle.get("history"):
        return
    change = lifecycle["history"][-1]
    contact_id = str(contact["contact_id"])
    _carry_out(contact_id, change, rules)
    bus.publish_change(contact_id, change, change_id=change_id)
    fresh = read_contact(contact_id)
    if fresh is not None and (fresh.get("lifecycle") or {}).get("change_id") == change_id:
        _write(fresh, {"lifecycle": {**fresh["lifecycle"], "effects_done": change_id}})


def _carry_out(contact_id: str, change: dict[str, Any], rules: Rules) -> None:
    """The effects of a stage change: win-back and the owner's task on entering dissolution, the end
    of win-back on leaving it, the loyalty bonus on entering commitment."""
    at = datetime.fromisoformat(change["at"])
    campaign = rules.effects.win_back_campaign
    if change["to"] == "dissolution":
        _enter_dissolution(contact_id, change, campaign, at)
    if campaign and change["from"] == "dissolution":
        _end_win_back(contact_id, campaign, change["to"])
    bonus = rules.commitment
    if change["to"] == "commitment" and bonus.bonus_points:
        from crm_core.loyalty import grant_bonus  # noqa: PLC0415 - the ledger's one write path

        source = "lifecycle-commitment"
        if not bonus.bonus_once_per_contact:
            source += f"-{at.strftime('%Y%m%dT%H%M%S')}"
        grant_bonus(contact_id, source, bonus.bonus_points, "entered commitment")


def _enter_dissolution(contact_id: str, change: dict[str, Any], campaign: str | None, at: datetime) -> None:
    if campaign:
        from crm_core.campaigns.enrollment import enroll  # noqa: PLC0415 - only on entering dissolution

        enroll(
            contact_id,
            campaign,
            at=max(at, clock.now() - timedelta(days=1)),  # a late run still sends, not a year-old batch
            occurrence=f"lifecycle-{at.strftime('%Y%m%dT%H%M%S')}",
            context={"reason": change["reason"]},
        )
    from crm_core.owners.service import on_dissolution  # noqa: PLC0415 - the owner's call task, once

    on_dissolution(contact_id, at.date().isoformat())


def _end_win_back(contact_id: str, campaign: str, stage: str) -> None:
    from crm_core.campaigns import transitions  # noqa: PLC0415 - campaigns load only when a win-back ends
    from crm_core.models import Enrollment  # noqa: PLC0415 - campaigns load only when a win-back ends

    for enrollment in Enrollment.query(contact_id, consistent_read=True):
        if enrollment.campaign == campaign and enrollment.status == transitions.ACTIVE:
            transitions.finish(enrollment, now=clock.now(), reason=f"lifecycle: {stage}")


def note_signal(
    contact_id: str, kind: str, signal_id: str, at: datetime, what: str | None = None
) -> str | None:
    """Tell the lifecycle something happened: `engaged` (a reply, a survey answer, a click: `what`
    names it), `complaint_opened` / `complaint_resolved` (`signal_id` is the case id). Replays of
    the same signal id change nothing. Returns the new stage if it changed. Raises ValueError for an
    unknown kind, RetryableError."""
    if kind not in SIGNAL_KINDS:
        raise ValueError(f"unknown lifecycle signal {kind!r}")
    signal = {"kind": kind, "id": signal_id, "at": at.isoformat(), "what": what}
    return reevaluate(contact_id, cause=f"{kind}:{what or signal_id}"[:120], signal=signal)
