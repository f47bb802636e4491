"""owners.yaml: the shipped file loads, and a mistake names its place instead of misrouting a customer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from crm_core.errors import ConfigurationError
from crm_core.owners.directory import RULE_KINDS, load, parse

STAFF = {
    "id": "ana",
    "name": "Ana B",
    "email": "ana@example.com",
    "time_zone": "Europe/Rome",
    "language": "it",
    "team": "t",
}


def test_the_shipped_file_has_staff_routes_and_every_rule_kind() -> None:
    directory = load()
    assert {"giulia", "jonas", "putri"} <= set(directory.staff)
    assert set(directory.rules) == RULE_KINDS
    assert directory.round_robin_team == "key-accounts" and directory.round_robin_min == Decimal("500")
    assert directory.digest_hour == 8


@pytest.mark.parametrize(
    ("data", "place"),
    [
        ({"staff": [{**STAFF, "language": "fr"}]}, "staff[0].language"),
        ({"staff": [{**STAFF, "time_zone": "Mars/Olympus"}]}, "staff[0].time_zone"),
        ({"staff": [{k: v for k, v in STAFF.items() if k != "email"}]}, "staff[0] lacks email"),
        ({"staff": [STAFF], "routing": [{"domain": "x.example", "owner": "bob"}]}, "routing[0].owner"),
        ({"staff": [STAFF], "routing": [{"owner": "ana"}]}, "routing[0] needs a domain or a country"),
        ({"staff": [STAFF], "round_robin": {"team": "nobody"}}, "round_robin.team"),
        ({"staff": [STAFF], "task_rules": [{"kind": "call-everyone"}]}, "task_rules[0].kind"),
        (
            {"staff": [STAFF], "task_rules": [{"kind": "first-purchase", "min_order_value": "lots"}]},
            "task_rules[0]",
        ),
    ],
)
def test_a_mistake_names_its_place(data: dict[str, Any], place: str) -> None:
    with pytest.raises(ConfigurationError, match=place.replace("[", r"\[").replace("]", r"\]")):
        parse(data)
