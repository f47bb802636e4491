"""The routing rule file and the SLA arithmetic, without AWS."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from crm_core.cases.addressing import case_from_address, link_key, referenced_case, ses_message_id_header
from crm_core.cases.language import guess_language
from crm_core.cases.mail import human_duration
from crm_core.cases.rules import RULES_PATH, get_policy, load_policy, parse_policy
from crm_core.cases.sla import SlaState, due_now, next_checkpoint
from crm_core.errors import ConfigurationError

RULES = yaml.safe_load(RULES_PATH.read_text())


def _broken(**changes: object) -> dict:
    data = copy.deepcopy(RULES)
    for path, value in changes.items():
        target = data
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"routes__3__team": "bliling"}, "routes[3] (billing): unknown team 'bliling'"),
        ({"default_route__priority": "P9"}, "default_route: unknown priority 'P9'"),
        ({"routes__3__categroies": ["billing"]}, "routes.3.categroies: Extra inputs are not permitted"),
        ({"priorities__P1__first_response": "soon"}, "priorities.P1.first_response"),
        ({"categories__0__name": "complaints"}, "unknown category 'complaints'"),
        ({"sla__escalation__1__level": 5}, "numbered 1, 2, 3"),
        ({"sla__warn_at": 1.5}, "sla.warn_at"),
        ({"sla__escalation__2__notify": "ceo"}, "level 3: notify 'ceo' is not 'team' nor in people"),
        ({"routes__0__keywords": [], "routes__0__categories": []}, "needs at least one of"),
    ],
)
def test_a_broken_rule_file_is_refused_with_the_place_named(changes: dict, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_policy(_broken(**changes), "rules.yaml")
    assert message in str(caught.value)


def test_a_file_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("teams: [unclosed")
    with pytest.raises(ConfigurationError, match=r"rules.yaml: cannot read it"):
        load_policy(bad)


@pytest.mark.parametrize(
    ("text", "sender", "tier", "vip", "expected"),
    [
        (
            "Il vaso è arrivato rotto e scheggiato",
            "a@x.it",
            None,
            False,
            ("product_quality", "quality", "P3"),
        ),
        ("Rückerstattung bitte", "a@x.de", "gold", False, ("billing", "billing", "P2")),
        ("Rückerstattung bitte", "a@x.de", None, True, ("billing", "billing", "P2")),
        (
            "Paket saya belum sampai",
            "ops@eu.bigcustomer.example",
            None,
            False,
            ("delivery", "key-accounts", "P2"),
        ),
        ("I will contact my lawyer about this refund", "a@x.com", None, False, ("billing", "privacy", "P1")),
        ("Hello, do you open on Sundays?", "a@x.com", "platinum", False, ("other", "service", "P3")),
    ],
)
def test_routing_by_category_domain_tier_and_value(text, sender, tier, vip, expected) -> None:
    routing = get_policy().route(text=text, sender=sender, tier=tier, vip=vip)
    assert (routing.category, routing.team, routing.priority) == expected


def test_a_most_valuable_customer_is_raised_like_a_gold_one_and_tiers_still_count() -> None:
    text, sender = "Rückerstattung bitte", "a@x.de"
    plain = get_policy().route(text=text, sender=sender)
    valued = get_policy().route(text=text, sender=sender, most_valuable=True)
    both = get_policy().route(text=text, sender=sender, tier="gold", most_valuable=True)
    assert (plain.priority, plain.valued_customer) == ("P3", False)
    assert (valued.priority, valued.valued_customer) == ("P2", True)
    assert both.priority == "P2"  # one raise for value, however many signals say so


def test_sla_checkpoints_fire_in_order_and_a_late_run_skips_the_stale_warning() -> None:
    policy = get_policy()
    opened = datetime(2026, 11, 23, 10, tzinfo=UTC)
    state = SlaState("P3", opened + timedelta(hours=8), opened + timedelta(hours=72), frozenset())
    assert next_checkpoint(policy, state) == opened + timedelta(hours=6)
    announce, silent = due_now(policy, state, opened + timedelta(hours=10, minutes=1))
    assert [c.mark for c in announce] == ["first_response:breach:1", "first_response:breach:2"]
    assert [c.mark for c in silent] == ["first_response:warning"]


def test_addresses_references_and_message_ids() -> None:
    assert referenced_case("Re: AW: [Case #c-7q4m2x] still broken") == "C-7Q4M2X"
    assert referenced_case("Case C-7Q4M2X without brackets") is None
    assert case_from_address("someone+c-7q4m2x.abcdefgh@example.com", "support@example.com") is None
    assert case_from_address("support@example.com", "support@example.com") is None
    assert ses_message_id_header("0102abc", "us-east-1") == "<0102abc@email.amazonses.com>"
    assert link_key("<0102abc@eu-west-1.amazonses.com>") == link_key("0102abc@email.amazonses.com")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Il mio pacco non è arrivato, grazie per l'aiuto", "it"),
        ("Mein Paket ist nicht angekommen, bitte helfen Sie mir", "de"),
        ("Paket saya belum sampai, mohon bantuan untuk pesanan ini", "id"),
        ("My parcel has not arrived, please help with this order", "en"),
        ("???", "en"),
    ],
)
def test_the_language_of_a_stranger_is_guessed(text: str, language: str) -> None:
    assert guess_language(text) == language


def test_expected_response_time_reads_naturally() -> None:
    assert human_duration(timedelta(hours=8), "it-IT") == "8 ore"
    assert human_duration(timedelta(hours=1), "de") == "1 Stunde"
    assert human_duration(timedelta(minutes=90), "id") == "90 menit"
    assert human_duration(timedelta(days=3), "fr") == "3 days"


def test_the_ses_event_model_is_lenient_with_mail_but_strict_with_the_event() -> None:
    from crm_core.cases.ses_event import SesEvent

    minimal = {"Records": [{"eventSource": "aws:ses", "ses": {"mail": {"messageId": "m-1"}}}]}
    (message,) = SesEvent.from_event(minimal).records
    assert message.mail.message_id == "m-1" and message.mail.common_headers.subject is None
    assert message.receipt.verdicts() == dict.fromkeys(("spam", "virus", "spf", "dkim", "dmarc"), "GRAY")
    for broken in (
        {},
        {"Records": []},
        {"Records": [{"eventSource": "aws:sqs"}]},
        minimal | {"Records": [{}]},
    ):
        with pytest.raises(ValueError, match="Records|eventSource"):
            SesEvent.from_event(broken)
