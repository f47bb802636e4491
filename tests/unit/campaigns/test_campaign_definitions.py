"""campaigns.yaml: the shipped file is sound, and every kind of mistake is refused with a clear message."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from crm_core import checks
from crm_core.campaigns import definitions
from crm_core.errors import ConfigurationError
from crm_core.messaging import templates

SHIPPED: dict[str, Any] = yaml.safe_load(definitions.CAMPAIGNS_FILE.read_text())
BRAND = {"name": "Example Shop", "website": "https://shop.example.com"}


def _problems(data: object) -> str:
    with pytest.raises(ConfigurationError) as caught:
        definitions.parse(data)
    return str(caught.value)


def _edited(edit) -> dict[str, Any]:
    data = copy.deepcopy(SHIPPED)
    edit(data)
    return data


def test_the_shipped_campaigns_are_the_ones_the_business_asked_for() -> None:
    catalog = definitions.load()

    welcome = catalog.campaigns["welcome"]
    assert [(s.name, s.after, s.marketing) for s in welcome.steps] == [
        ("hello", timedelta(0), False),
        ("tips", timedelta(days=2), True),
        ("check-in", timedelta(days=7), True),
    ]
    thank_you = catalog.campaigns["post-purchase"].steps[0]
    assert (thank_you.after, thank_you.marketing, thank_you.reply_to) == (timedelta(days=1), False, "support")
    win_back = catalog.campaigns["win-back"]
    assert win_back.exit_on == {"purchase"}
    assert [(s.after, s.marketing) for s in win_back.steps] == [(timedelta(0), True)]  # sent on dissolution
    assert welcome.kind(welcome.steps[1]) == "welcome.tips"


@pytest.mark.parametrize("locale", definitions.LOCALES)
def test_every_step_renders_in_every_language_with_its_unsubscribe_link_where_marketing(locale: str) -> None:
    for campaign in definitions.load().campaigns.values():
        for step in campaign.steps:
            context: dict[str, Any] = {"first_name": "Ana", "brand": BRAND, "order_id": "A-1"}
            if step.marketing:
                context["unsubscribe_url"] = "https://crm.example.com/unsubscribe?token=t.s"
            if step.survey:  # what crm_core.surveys.invitations gives a survey step
                scores = [
                    {"score": n, "url": f"https://crm.example.com/surveys/answer?s={n}"} for n in range(11)
                ]
                context |= {
                    "question": "How was it?",
                    "scale": "nps",
                    "scores": scores,
                    "expires_on": "2027-01-01",
                }
            rendered = templates.render(step.template, locale, context)
            assert rendered.locale == locale
            assert rendered.subject and "\n" not in rendered.subject
            assert "Ana" in rendered.text and "Ana" in rendered.html
            assert f'lang="{locale}"' in rendered.html
            if step.marketing:
                assert context["unsubscribe_url"] in rendered.text
                assert f'href="{context["unsubscribe_url"]}"' in rendered.html


def test_a_contact_without_a_first_name_is_still_greeted() -> None:
    rendered = templates.render("welcome-hello", "en", {"first_name": "", "brand": BRAND})
    assert rendered.text.startswith("Hi there,\n\n")


def test_durations_read_minutes_hours_and_days() -> None:
    assert checks.duration("30m") == timedelta(minutes=30)
    assert checks.duration("36h") == timedelta(hours=36)
    assert checks.duration(" 2d ") == timedelta(days=2)
    for bad in ("2 weeks", "1.5d", "-1d", 3, None, ""):
        with pytest.raises(ValueError, match="is not a duration"):
            checks.duration(bad)


def test_a_file_without_campaigns_is_refused() -> None:
    assert "must be a mapping with a 'campaigns' mapping" in _problems(["welcome"])
    assert "must be a mapping with a 'campaigns' mapping" in _problems({"campaign": {}})


def test_invalid_yaml_is_refused_with_its_position(tmp_path: Path) -> None:
    broken = tmp_path / "campaigns.yaml"
    broken.write_text("campaigns:\n  welcome:\n    steps: [\n")
    with pytest.raises(
        ConfigurationError, match=r"(?s)campaigns.yaml is not valid YAML.*campaigns.yaml\", line 4"
    ):
        definitions.load_file(broken)


def test_a_misspelt_field_is_named() -> None:
    data = _edited(lambda d: d["campaigns"]["welcome"]["steps"][1].update(templte="welcome-tips"))
    assert "campaigns.welcome.steps[1].templte: unknown field" in _problems(data)
    data = _edited(lambda d: d["campaigns"]["welcome"].update(exit_when=["purchase"]))
    assert "campaigns.welcome.exit_when: unknown field" in _problems(data)


def test_a_missing_field_is_named() -> None:
    data = _edited(lambda d: d["campaigns"]["welcome"]["steps"][2].pop("marketing"))
    assert "campaigns.welcome.steps[2].marketing: is required" in _problems(data)


def test_a_duration_that_is_not_one_is_named() -> None:
    data = _edited(lambda d: d["campaigns"]["welcome"]["steps"][1].update(after="2 days"))
    assert "campaigns.welcome.steps[1].after: '2 days' is not a duration like 30m, 12h or 2d" in _problems(
        data
    )


def test_steps_out_of_order_are_refused() -> None:
    data = _edited(lambda d: d["campaigns"]["welcome"]["steps"][2].update(after="1d"))
    assert "campaigns.welcome.steps[2].after: steps must be in order" in _problems(data)


def test_two_steps_with_one_name_are_refused() -> None:
    data = _edited(lambda d: d["campaigns"]["welcome"]["steps"][2].update(name="tips"))
    assert "campaigns.welcome.steps[2].name: 'tips' is used by an earlier step" in _problems(data)


def test_a_template_that_does_not_exist_is_named() -> None:
    data = _edited(lambda d: d["campaigns"]["welcome"]["steps"][1].update(template="welcome-tipz"))
    assert "no message template 'welcome-tipz'" in _problems(data)


def test_a_template_missing_a_language_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "welcome-tips"
    folder.mkdir()
    for locale in ("en", "it"):
        for part in ("subject", "txt", "html"):
            (folder / f"{locale}.{part}.j2").write_text("{{ unsubscribe_url }}")
    monkeypatch.setattr(templates, "TEMPLATE_DIR", tmp_path)
    assert "template 'welcome-tips' lacks de, id" in _problems(SHIPPED)


def test_marketing_needs_a_visible_unsubscribe_link_and_service_mail_cannot_have_one() -> None:
    data = _edited(lambda d: d["campaigns"]["welcome"]["steps"][0].update(marketing=True))
    assert "marketing template welcome-hello/en.html.j2 must show {{ unsubscribe_url }}" in _problems(data)
    data = _edited(lambda d: d["campaigns"]["welcome"]["steps"][1].update(marketing=False))
    assert "welcome-tips/en.txt.j2 uses unsubscribe_url, which only marketing mail has" in _problems(data)


def test_marketing_must_be_true_or_false() -> None:
    data = _edited(lambda d: d["campaigns"]["welcome"]["steps"][1].update(marketing="yes please"))
    assert "campaigns.welcome.steps[1].marketing: must be true or false" in _problems(data)


def test_an_unknown_exit_event_or_reply_address_is_named() -> None:
    data = _edited(lambda d: d["campaigns"]["win-back"].update(exit_on=["purchase", "birthday"]))
    assert "campaigns.win-back.exit_on: must be a list of purchase" in _problems(data)
    data = _edited(lambda d: d["campaigns"]["post-purchase"]["steps"][0].update(reply_to="ceo"))
    assert "campaigns.post-purchase.steps[0].reply_to: 'ceo' is not one of support" in _problems(data)


def test_a_campaign_the_code_enrolls_into_cannot_be_removed() -> None:
    data = _edited(lambda d: d["campaigns"].pop("welcome"))
    assert "campaigns.welcome: is required: new leads are enrolled in it" in _problems(data)


def test_bad_campaign_and_step_names_are_refused() -> None:
    data = _edited(lambda d: d["campaigns"].update({"Summer Sale": d["campaigns"]["welcome"]}))
    assert "campaigns.Summer Sale: a campaign name must be lower-case" in _problems(data)
    data = _edited(lambda d: d["campaigns"]["welcome"]["steps"][1].update(name="Tips!"))
    assert "campaigns.welcome.steps[1].name: 'Tips!' must be lower-case" in _problems(data)


def test_a_campaign_without_steps_or_with_no_gap_is_refused() -> None:
    data = _edited(lambda d: d["campaigns"]["welcome"].update(steps=[]))
    assert "campaigns.welcome.steps: must be a non-empty list of steps" in _problems(data)
    data = _edited(lambda d: d["campaigns"]["welcome"].update(min_gap="0h"))
    assert "campaigns.welcome.min_gap: must be longer than zero" in _problems(data)


def test_every_problem_is_reported_at_once() -> None:
    def break_three_things(d: dict[str, Any]) -> None:
        d["campaigns"]["welcome"]["steps"][1]["after"] = "soon"
        d["campaigns"]["win-back"]["exit_on"] = ["rain"]
        d["recheck_paused_after"] = "tomorrow"

    message = _problems(_edited(break_three_things))
    assert "has 3 problem(s)" in message
    assert message.count("\n  ") == 3
