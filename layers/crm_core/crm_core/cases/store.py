"""Data access for cases: key lookups, one-partition queries, conditional writes that make replays safe."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from crm_core.clock import iso
from crm_core.errors import NotFound, RetryableError
from crm_core.models.base import condition_failed, save_if, update_if
from crm_core.models.cases import ACK_WINDOW_SK, CASE_SK, LINK_SK, AckWindow, Case, CaseEvent, CaseLink
from crm_core.models.contacts import Contact

ACK_WINDOW = timedelta(hours=1)


def _connection() -> Connection:
    """The cases table's cached connection (a new one would build a new botocore client: ~200 ms)."""
    return Case._get_connection().connection


def get_case(case_id: str) -> Case | None:
    """The case with id `case_id` (consistent read), None when there is none."""
    try:
        return Case.get(case_id, CASE_SK, consistent_read=True)
    except DoesNotExist:
        return None


def case_and_events(case_id: str) -> tuple[Case, list[CaseEvent]]:
    """The case and its events in time order (one Query); raises NotFound."""
    case = get_case(case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    events = list(CaseEvent.query(case_id, CaseEvent.event_key.startswith("event#"), consistent_read=True))
    return case, events


def get_event(case_id: str, event_key: str) -> CaseEvent | None:
    """One event of a case (consistent read), None when there is none."""
    try:
        return CaseEvent.get(case_id, event_key, consistent_read=True)
    except DoesNotExist:
        return None


def get_link(key: str) -> CaseLink | None:
    """The message link stored under `key` (a Message-ID or a sender's thread), None when absent."""
    try:
        return CaseLink.get(key, LINK_SK, consistent_read=True)
    except DoesNotExist:
        return None


def find_links(keys: Iterable[str]) -> list[CaseLink]:
    """The recorded links among `keys` (one BatchGet)."""
    wanted = list(dict.fromkeys(keys))[:100]
    if not wanted:
        return []
    return list(CaseLink.batch_get([(k, LINK_SK) for k in wanted], consistent_read=True))


def contact(contact_id: str) -> Contact | None:
    """The contact `contact_id`, None when there is none."""
    try:
        return Contact.get(contact_id)
    except DoesNotExist:
        return None


def contact_actions(address: str, delta: int, now: datetime) -> list[Action]:
    """Count an opened (+1) or closed (-1) case on the contact, creating a bare contact if needed."""
    return [
        Contact.open_cases.set((Contact.open_cases | 0) + delta),
        Contact.email.set(Contact.email | address),
        Contact.created_at.set(Contact.created_at | now),
        Contact.updated_at.set(now),
    ]


def record_inbound(
    *,
    event: CaseEvent,
    links: list[CaseLink],
    new_case: Case | None = None,
    case_update: tuple[Case, list[Action]] | None = None,
    contact_update: tuple[str, str, int] | None = None,  # (contact id, address, delta)
    now: datetime,
) -> bool:
    """Write an inbound message's links, event and case in one transaction.

    False when a condition failed: a link already exists (a replay) or the new case id is taken.
    """
    try:
        with TransactWrite(connection=_connection()) as tx:
            for link in links:
                tx.save(link, condition=CaseLink.key.does_not_exist())
            tx.save(event, condition=CaseEvent.event_key.does_not_exist())
            if new_case is not None:
                tx.save(new_case, condition=Case.case_id.does_not_exist())
            if case_update is not None:
                tx.update(case_update[0], actions=case_update[1])
            if contact_update is not None and contact_update[2]:
                contact_id, address, delta = contact_update
                tx.update(
                    Contact(contact_id),
                    actions=contact_actions(address, delta, now),
                    add_version_condition=False,
                )
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def update_case(
    case: Case, actions: list[Action], *, now: datetime, condition: object = None, contact_delta: int = 0
) -> bool:
    """Update a case (and the contact's open-case count) at once; False when `condition` failed."""
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.update(case, actions=actions, condition=condition)  # type: ignore[arg-type]
            if contact_delta:
                tx.update(
                    Contact(case.contact_id),
                    actions=contact_actions(case.email, contact_delta, now),
                    add_version_condition=False,
                )
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False
        raise
    case.refresh(consistent_read=True)
    return True


def save_link(link: CaseLink) -> None:
    """Record a message id (idempotent: the same id always names the same case)."""
    link.save()


def save_event(event: CaseEvent, *, once: bool = False) -> bool:
    """Store an event; with `once`, False if it exists already."""
    if not once:
        event.save()
        return True
    return save_if(event, CaseEvent.event_key.does_not_exist())


def mark_event_routed(event: CaseEvent) -> None:
    """Record that the event was handed to the helpdesk, so a redelivery does not route it again."""
    event.update(actions=[CaseEvent.routed.set(True)])


def reserve_ack(
    contact_id: str, case_id: str, *, now: datetime, limit: int, window: timedelta = ACK_WINDOW
) -> bool:
    """Count this case's acknowledgement in the contact's sliding window (the last `window` before
    `now`); False when `limit` acks were sent in it. Idempotent per case: the same case asking
    again finds itself and is allowed. Read, prune, write on the revision read (optimistic lock);
    raises RetryableError when the window kept changing under us."""
    key = f"ackrate#{contact_id}"
    for _ in range(5):
        current = _ack_window(key)
        sent = {str(k): int(v) for k, v in ((current.sent if current else None) or {}).items()}
        if case_id in sent:
            return True
        recent = _within(sent, now, window)
        if len(recent) >= limit:
            return False
        if _write_ack_window(key, current, {**recent, case_id: int(now.timestamp())}, now, window):
            return True
    raise RetryableError(f"the acknowledgement window of {contact_id} kept changing; try again")


def _ack_window(key: str) -> AckWindow | None:
    try:
        return AckWindow.get(key, ACK_WINDOW_SK, consistent_read=True)
    except DoesNotExist:
        return None


def _within(sent: dict[str, int], now: datetime, window: timedelta) -> dict[str, int]:
    """The acks of `sent` inside the window that ends at `now`."""
    horizon = int(now.timestamp()) - int(window.total_seconds())
    return {k: v for k, v in sent.items() if v > horizon}


def _write_ack_window(
    key: str, current: AckWindow | None, sent: dict[str, int], now: datetime, window: timedelta
) -> bool:
    """Write the window on the revision read; False when another writer got there first."""
    revision = int(current.revision or 0) if current else 0
    condition = AckWindow.key.does_not_exist() if current is None else AckWindow.revision == revision
    actions = [
        AckWindow.sent.set(sent),
        AckWindow.revision.set(revision + 1),
        AckWindow.expires_at.set(int(now.timestamp()) + 2 * int(window.total_seconds())),
    ]
    return update_if(AckWindow(key, ACK_WINDOW_SK), actions, condition)


def add_mark(case: Case, mark: str, *, now: datetime) -> bool:
    """Record that an SLA checkpoint fired; False if it already had (or the case left `open`)."""
    return update_if(
        case,
        [Case.sla_marks.add({mark}), Case.updated_at.set(iso(now, milliseconds=True))],
        (Case.status == "open") & ~Case.sla_marks.contains(mark),
    )


def remove_mark(case: Case, mark: str) -> None:
    """Undo a mark whose announcement failed, so the next run tries again."""
    case.update(actions=[Case.sla_marks.delete({mark})])


def set_next_checkpoint(case: Case, at: datetime | None) -> None:
    """Place the case in the due index at its next checkpoint, or take it out."""
    from crm_core.models.cases import sla_shard  # noqa: PLC0415 - the models package only when a checkpoint moves

    if at is None:
        case.update(actions=[Case.due_at.remove(), Case.due_shard.remove()])
    else:
        case.update(
            actions=[Case.due_at.set(iso(at, milliseconds=True)), Case.due_shard.set(sla_shard(case.case_id))]
        )


def due_cases(shard: str, now: datetime) -> Iterator[Case]:
    """Cases of one shard whose next SLA checkpoint is at or before `now` (a Query on `sla-due`)."""
    return Case.sla_due.query(shard, Case.due_at <= iso(now, milliseconds=True))


def cases_by_status(status: str, limit: int = 100) -> Iterator[Case]:
    """Cases in a status, most recently updated first (a Query on `by-status`)."""
    return Case.by_status.query(status, scan_index_forward=False, limit=limit)
