"""Enrolling is idempotent and lands in the due index; occasion keys land in the occasion indexes."""

from __future__ import annotations

from crm_core.campaigns.enrollment import enroll
from crm_core.models import Contact, Enrollment, contact_id_for
from crm_core.models.contacts import occasion_day


def test_enrolling_twice_keeps_one_enrollment_due_now(stack, frozen_clock) -> None:
    contact_id = contact_id_for("putu@example.id")
    assert enroll(contact_id, "welcome", at=frozen_clock.now()) is True
    assert enroll(contact_id, "welcome", at=frozen_clock.now()) is False

    items = list(Enrollment.query(contact_id))
    assert [(e.enrollment_key, e.status, e.step) for e in items] == [("welcome", "active", 0)]
    due = list(Enrollment.due_index.query(items[0].due_shard, Enrollment.due_at <= "2026-11-23T10:00:00Z"))
    assert [e.contact_id for e in due] == [contact_id]


def test_each_order_gets_its_own_post_purchase_enrollment(stack, frozen_clock) -> None:
    contact_id = contact_id_for("ana@example.com")
    assert enroll(contact_id, "post-purchase", at=frozen_clock.now(), occurrence="A-1")
    assert enroll(contact_id, "post-purchase", at=frozen_clock.now(), occurrence="A-2")
    assert not enroll(contact_id, "post-purchase", at=frozen_clock.now(), occurrence="A-1")
    assert len(list(Enrollment.query(contact_id))) == 2


def test_contacts_with_a_birthday_are_found_by_month_day(stack) -> None:
    contact_id = contact_id_for("leap@example.com")
    day = occasion_day("2000-02-29", contact_id)
    Contact(contact_id, email="leap@example.com", birthday="2000-02-29", birthday_day=day).save()
    Contact(contact_id_for("x@example.com"), email="x@example.com").save()

    assert day is not None and day.startswith("02-29#")
    assert occasion_day("--02-29", contact_id) == day
    assert [c.contact_id for c in Contact.birthday_index.query(day)] == [contact_id]
