"""Inbound mail the intake cannot read, automated mail and VIPs: who the case is for, whether it is
quarantined, counted and watched, and how its priority is raised."""

from __future__ import annotations

from typing import Any

import pytest

from crm_core.cases import limits, store
from crm_core.models.cases import Case
from crm_core.models.contacts import Contact, contact_id_for
from tests.complaints import compose, ses_event
from tests.helpers import load_handler


def _route(event: dict[str, Any], lambda_context: object) -> dict[str, Any]:
    (result,) = load_handler("route_complaint").lambda_handler(event, lambda_context)["cases"]
    return result


def _unread(source: str | None, *from_: str) -> dict[str, Any]:
    """The event of a message missing from the bucket whose SES common headers carry `from_`."""
    event = ses_event(b"From: someone-else@example.com\r\n\r\nhello", store=False, source=source)
    event["Records"][0]["ses"]["mail"]["commonHeaders"]["from"] = list(from_)
    return event


def _case(result: dict[str, Any]) -> Case:
    case = store.get_case(result["case_id"])
    assert case is not None
    return case


@pytest.mark.parametrize(
    ("source", "from_", "expected"),
    [
        pytest.param(None, ["Bob <Bob@Example.com>"], "bob@example.com", id="the From SES saw"),
        pytest.param(
            None,
            ["undisclosed-recipients:;", "Carl <carl@example.com>"],
            "carl@example.com",
            id="first with @",
        ),
        pytest.param(
            None,
            [f"<{'d' * limits.ADDRESS_CHARS}@example.com>", "eve@example.com"],
            "eve@example.com",
            id="overlong address skipped",
        ),
        pytest.param(
            None,
            ["x" * (4 * limits.ADDRESS_CHARS) + " <far@example.com>", "near@example.com"],
            "near@example.com",
            id="address past the read limit skipped",
        ),
        pytest.param(
            None,
            [f"{'d' * (limits.ADDRESS_CHARS - 12)}@example.com"],
            f"{'d' * (limits.ADDRESS_CHARS - 12)}@example.com",
            id="address at the limit kept",
        ),
        pytest.param("env@example.com", [], "env@example.com", id="envelope sender"),
        pytest.param(
            "env@example.com",
            ["no address", "none", "nope", "nothing", "nil", "sixth@example.com"],
            "env@example.com",
            id="only five From values",
        ),
        pytest.param("", [], "unknown-sender@invalid", id="nobody"),
    ],
)
def test_unreadable_mail_is_quarantined_for_the_sender_ses_saw(
    stack, frozen_clock, lambda_context, source: str | None, from_: list[str], *, expected: str
) -> None:
    case = _case(_route(_unread(source, *from_), lambda_context))

    assert (case.status, case.email, case.contact_id) == ("quarantined", expected, contact_id_for(expected))
    assert case.quarantine_reason == "message not found in the mail bucket"


def test_quarantined_mail_is_neither_counted_on_the_contact_nor_watched_by_the_sla(
    stack, frozen_clock, lambda_context
) -> None:
    result = _route(ses_event(compose(), spam="FAIL"), lambda_context)

    case = _case(result)
    assert (result["outcome"], case.status) == ("quarantined", "quarantined")
    assert (case.due_at, case.due_shard) == (None, None)
    assert store.contact(contact_id_for("ana@example.it")) is None  # not counted: no bare contact either


def test_automated_mail_opens_a_quarantined_case_that_says_why(stack, frozen_clock, lambda_context) -> None:
    raw = compose(subject="Automatic reply: away", headers={"Auto-Submitted": "auto-replied"})

    result = _route(ses_event(raw), lambda_context)

    case = _case(result)
    assert (result["outcome"], result["ack"]) == ("quarantined", "none: automated: auto-submitted")
    assert case.quarantine_reason == "automated: auto-submitted"
    assert (case.due_at, store.contact(contact_id_for("ana@example.it"))) == (None, None)


def test_a_person_s_mail_opens_a_case_counted_and_watched(stack, frozen_clock, lambda_context) -> None:
    case = _case(_route(ses_event(compose()), lambda_context))

    assert (case.status, case.quarantine_reason) == ("open", None)
    assert case.due_at is not None and case.due_shard is not None
    assert Contact.get(contact_id_for("ana@example.it")).open_cases == 1


def test_a_vip_customer_is_raised_one_priority(stack, frozen_clock, lambda_context) -> None:
    address = "vera@example.de"
    Contact(contact_id_for(address), email=address, first_name="Vera", vip=True, locale="de").save()
    raw = compose(
        sender=f"Vera <{address}>", subject="Lieferung", body="Meine Lieferung ist nicht angekommen."
    )

    case = _case(_route(ses_event(raw), lambda_context))

    assert (case.priority, case.tier, case.vip, case.most_valuable) == ("P2", None, True, False)
