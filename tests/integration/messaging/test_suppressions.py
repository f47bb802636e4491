"""The suppression list: never narrowed, soft bounces counted once each and cleared by a delivery."""

from __future__ import annotations

from crm_core.messaging import suppressions
from crm_core.models.messages import Suppression

ADDRESS = "Wayan@Example.id"


def test_suppression_widens_from_marketing_to_all_and_never_narrows(stack, frozen_clock) -> None:
    now = frozen_clock.now()
    assert suppressions.suppress(ADDRESS, scope="marketing", reason="unsubscribed", now=now) is True
    assert suppressions.suppress(ADDRESS, scope="marketing", reason="unsubscribed", now=now) is False
    assert suppressions.suppress(ADDRESS, scope="all", reason="complaint", now=now) is True
    assert suppressions.suppress(ADDRESS, scope="marketing", reason="unsubscribed", now=now) is False

    item = Suppression.get("wayan@example.id")
    assert (item.scope, item.reason) == ("all", "complaint")


def test_soft_bounces_count_once_per_notification_and_block_nothing(stack, frozen_clock) -> None:
    now = frozen_clock.now()
    assert suppressions.count_transient_bounce(ADDRESS, "fb-1", now=now) == 1
    assert suppressions.count_transient_bounce(ADDRESS, "fb-1", now=now) == 1  # the event delivered again
    assert suppressions.count_transient_bounce(ADDRESS, "fb-2", now=now) == 2

    counted = suppressions.suppression_for(ADDRESS)
    assert counted is not None and counted.scope == "none"
    assert not suppressions.blocks(counted, marketing=True)
    assert not suppressions.blocks(counted, marketing=False)


def test_a_delivery_clears_the_soft_bounces_but_keeps_an_unsubscribe(stack, frozen_clock) -> None:
    now = frozen_clock.now()
    suppressions.count_transient_bounce(ADDRESS, "fb-1", now=now)
    assert suppressions.clear_transient_bounces(ADDRESS) is True
    assert suppressions.suppression_for(ADDRESS) is None
    assert suppressions.clear_transient_bounces(ADDRESS) is False

    suppressions.suppress(ADDRESS, scope="marketing", reason="unsubscribed", now=now)
    suppressions.count_transient_bounce(ADDRESS, "fb-3", now=now)
    assert suppressions.clear_transient_bounces(ADDRESS) is True
    item = suppressions.suppression_for(ADDRESS)
    assert item is not None and (item.scope, item.transient_bounces) == ("marketing", None)


def test_counting_a_soft_bounce_keeps_an_existing_suppression(stack, frozen_clock) -> None:
    now = frozen_clock.now()
    suppressions.suppress(ADDRESS, scope="marketing", reason="unsubscribed", now=now)
    assert suppressions.count_transient_bounce(ADDRESS, "fb-1", now=now) == 1
    item = Suppression.get("wayan@example.id")
    assert (item.scope, item.reason) == ("marketing", "unsubscribed")
