"""Every message wears the one branded layout, in every language, with colours a reader can read."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest
from markupsafe import escape

from crm_core.messaging import mime
from crm_core.messaging.templates import CONTRASTS, PALETTE, TEMPLATE_DIR, brand, render
from tests.email_samples import LOCALES, SAMPLES, sample

TEMPLATES = sorted(p.name for p in TEMPLATE_DIR.iterdir() if p.is_dir() and not p.name.startswith("_"))


def _luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of a #rrggbb colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG 2.x contrast ratio, from 1 (same colour) to 21 (black on white)."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_contrast_formula_matches_wcags_reference_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic near miss


@pytest.mark.parametrize(("text", "background"), CONTRASTS)
def test_every_text_colour_of_the_layout_meets_wcag_aa_on_its_background(text: str, background: str) -> None:
    assert contrast(PALETTE[text], PALETTE[background]) >= 4.5


def test_the_sample_contexts_cover_every_template() -> None:
    assert set(TEMPLATES) == set(SAMPLES)


def _footer(html: str) -> str:
    return html[html.index('class="footer"') :]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", TEMPLATES)
def test_every_message_has_the_brand_header_and_a_readable_footer(name: str, locale: str) -> None:
    rendered = render(name, locale, sample(name, locale))
    html, shop = rendered.html, brand()

    assert rendered.locale == locale
    assert f'<html lang="{locale}">' in html
    assert html.count('class="brand-header"') == 1 and shop["name"] in html.split('class="message"')[0]
    assert f"<title>{escape(rendered.subject)}</title>" in html
    footer = _footer(html)
    assert f"color:{PALETTE['footer_text']}" in footer and shop["name"] in footer
    assert f"background:{PALETTE['page']}" in html  # the footer's background is the page's
    colours = set(re.findall(r"(?<!&)#[0-9a-fA-F]{6}\b", html))
    assert colours <= set(PALETTE.values()), f"colours outside the checked palette: {colours}"
    assert "{{" not in html and "{{" not in rendered.text
    assert "\n--\n" in rendered.text  # the plain-text part ends with its footer too


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", [n for n in TEMPLATES if "unsubscribe_url" in SAMPLES[n]])
def test_marketing_messages_show_the_unsubscribe_link_in_the_footer(name: str, locale: str) -> None:
    rendered = render(name, locale, sample(name, locale))

    assert SAMPLES[name]["unsubscribe_url"].replace("&", "&amp;") in _footer(rendered.html)
    assert SAMPLES[name]["unsubscribe_url"] in rendered.text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", ["case-ack", "case-reply"])
def test_case_mail_names_the_case_in_the_footer_in_its_language(name: str, locale: str) -> None:
    rendered = render(name, locale, sample(name, locale))

    assert SAMPLES[name]["case_id"] in _footer(rendered.html)
    assert "You receive" not in rendered.html or locale == "en"


def test_the_from_header_carries_the_display_name() -> None:
    raw = mime.build(
        sender="crm@shop.example", sender_name="Example Shop", to="zoe@example.com", subject="s", text="t",
        html="<p>h</p>",
    )  # fmt: skip
    message = message_from_bytes(raw, policy=policy.default)

    assert message["From"] == "Example Shop <crm@shop.example>"
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
