"""The consent rules of a form post, as a pure plan (crm_core.leads.merge.plan_consent): no DynamoDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_core.leads.merge import ConsentPlan, Source, plan_consent, rank_of
from crm_core.leads.validation import Lead
from crm_core.models.contacts import Consent, Contact, contact_id_for

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _plan(
    consent: bool | None, *, suppressed: bool = False, double_opt_in: str = "renewed-only"
) -> ConsentPlan:
    lead = Lead(email="ana@example.com", consent=consent, form_id="contact")
    return plan_consent(
        None, lead, source=Source.FORM, at=AT, double_opt_in=double_opt_in, marketing_suppressed=suppressed
    )


def test_a_post_that_says_nothing_about_consent_changes_nothing() -> None:
    plan = _plan(None)
    assert (plan.record, plan.pending, plan.keep_pending, plan.clear_pending) == (None, None, False, False)


def test_a_yes_for_an_address_suppressed_for_marketing_must_be_confirmed_by_its_owner() -> None:
    plan = _plan(True, suppressed=True)  # no contact yet, but the address asked not to be mailed
    assert plan.record is None and plan.pending is not None and plan.pending.granted
    assert not plan.keep_pending and not plan.clear_pending


def test_a_yes_on_a_new_address_is_recorded_at_once_unless_double_opt_in_is_always() -> None:
    recorded = _plan(True)
    assert recorded.record is not None and recorded.record.granted and recorded.pending is None
    assert (recorded.record.source, recorded.record.form_id) == ("form", "contact")
    asked = _plan(True, double_opt_in="always")
    assert asked.record is None and asked.pending is not None


def test_a_no_is_recorded_and_ends_an_open_request() -> None:
    plan = _plan(False)
    assert plan.record is not None and plan.record.granted is False and plan.clear_pending


def test_sources_rank_by_trust_and_unknown_or_missing_ones_rank_as_a_form_post() -> None:
    assert rank_of("confirmed") == Source.CONFIRMED.rank > rank_of("agent") == Source.AGENT.rank
    assert rank_of(None) == rank_of("") == rank_of("carrier-pigeon") == Source.FORM.rank


def _contact(**fields: object) -> Contact:
    return Contact(contact_id_for("ana@example.com"), email="ana@example.com", **fields)


def _yes(source: str, at: datetime = AT - timedelta(days=30)) -> Consent:
    return Consent(granted=True, at=at.isoformat(), form_id="old", source=source)


def _post(
    old: Contact | None, consent: bool | None = True, *, double_opt_in: str = "renewed-only"
) -> ConsentPlan:
    lead = Lead(email="ana@example.com", consent=consent, form_id="contact")
    return plan_consent(
        old, lead, source=Source.FORM, at=AT, double_opt_in=double_opt_in, marketing_suppressed=False
    )


def test_with_double_opt_in_a_confirmed_yes_is_not_asked_again_but_a_form_yes_is() -> None:
    confirmed = _post(_contact(consent=_yes("confirmed")), double_opt_in="always")
    assert confirmed.pending is None and confirmed.record is None  # the confirmed yes is more trusted
    unconfirmed = _post(_contact(consent=_yes("form")), double_opt_in="always")
    assert unconfirmed.pending is not None and unconfirmed.record is None


def test_an_open_confirmation_request_is_not_sent_again_within_a_day() -> None:
    pending = Consent(granted=True, at=(AT - timedelta(hours=23)).isoformat(), source="form")
    recent = _post(_contact(consent_pending=pending), double_opt_in="always")
    assert (recent.keep_pending, recent.pending, recent.record) == (True, None, None)

    pending = Consent(granted=True, at=(AT - timedelta(days=1)).isoformat(), source="form")
    a_day_old = _post(_contact(consent_pending=pending), double_opt_in="always")
    assert not a_day_old.keep_pending and a_day_old.pending is not None  # asked again, once a day at most


def test_a_yes_from_an_equally_trusted_source_is_recorded_again_with_its_new_evidence() -> None:
    again = _post(_contact(consent=_yes("form")))
    assert again.record is not None
    assert (again.record.at, again.record.form_id) == ("2026-11-23T10:00:00Z", "contact")
    kept = _post(_contact(consent=_yes("agent")))  # an agent's yes outranks a form's
    assert kept.record is None and kept.pending is None
