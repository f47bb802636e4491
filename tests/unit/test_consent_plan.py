"""The consent rules of a form post, as a pure plan (crm_core.leads.merge.plan_consent): no DynamoDB."""

from __future__ import annotations

from datetime import UTC, datetime

from crm_core.leads.merge import ConsentPlan, Source, plan_consent, rank_of
from crm_core.leads.validation import Lead

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
