"""Screenshots of what a person sees: every email type, the lead form and every page the API serves.

Headless Debian Chromium (as tests/e2e/test_lead_form_browser.py) writes PNGs under build/screenshots/
(git-ignored: the images stay out of the repository). The test checks what a machine can (the page
rendered, the brand's band is on it, nothing overflows sideways); a person looks at the images.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crm_core.errors import FieldError, ValidationFailed
from crm_core.messaging.templates import brand, render
from tests.e2e.test_lead_form_browser import _chrome, _fill, _submit, browser_ready  # noqa: F401 - browser_ready is a fixture, found by name
from tests.email_samples import LOCALES, SAMPLES, sample
from tests.helpers import ROOT

pytestmark = pytest.mark.e2e

SHOTS = ROOT / "build" / "screenshots"
WIDTH = 800  # a laptop's mail pane; the phone-width shots are 390


@pytest.fixture(scope="module")
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    return SHOTS


@pytest.fixture(scope="module")
def chrome(browser_ready: None) -> Iterator[Any]:  # noqa: F811 - the fixture, imported to be shared
    driver = _chrome(javascript=True)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def chrome_without_js(browser_ready: None) -> Iterator[Any]:  # noqa: F811 - the fixture, imported to be shared
    driver = _chrome(javascript=False)
    try:
        yield driver
    finally:
        driver.quit()


def _shoot(driver: Any, path: Path, width: int = WIDTH) -> None:
    """The whole page as one PNG, `width` CSS pixels wide; fails if anything sticks out sideways."""
    metrics = {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": width < 500}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    metrics["height"] = min(int(height), 6000)  # the whole page, no scrollbar
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{path.name}: {overflow}px wider than the window"
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 5_000, f"{path.name} looks empty"


def _show_file(driver: Any, shots: Path, name: str, html: str, width: int = WIDTH) -> None:
    page = shots / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    driver.get(page.as_uri())
    _shoot(driver, shots / f"{name}.png", width)


def test_every_email_type_in_english_and_the_case_mail_and_a_greeting_in_every_language(
    chrome: Any, shots: Path, local_stack: Any
) -> None:
    from selenium.webdriver.common.by import By

    wanted = [(name, "en") for name in SAMPLES]
    wanted += [
        (name, loc) for name in ("case-ack", "case-reply", "birthday") for loc in LOCALES if loc != "en"
    ]
    for name, locale in wanted:
        rendered = render(name, locale, sample(name, locale))
        _show_file(chrome, shots, f"email-{name}-{locale}", rendered.html)
        band = chrome.find_element(By.CLASS_NAME, "brand-header")
        assert band.text == brand()["name"]
    for name in ("welcome-tips", "survey", "owner-digest"):  # the widest rows: buttons, a scale, lists
        rendered = render(name, "en", SAMPLES[name])
        _show_file(chrome, shots, f"email-{name}-en-phone", rendered.html, width=390)


def test_the_lead_form_its_errors_and_its_no_script_result_pages(
    chrome: Any, chrome_without_js: Any, shots: Path, local_stack: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    chrome.get(local_stack.base_url + "/")
    _shoot(chrome, shots / "page-lead-form.png")
    _shoot(chrome, shots / "page-lead-form-phone.png", width=390)
    _fill(chrome, {"email": "zoe.shot@example", "birthday_day": "31", "birthday_month": "4"})
    chrome.execute_script("document.getElementById('email').type = 'text'")  # let the server judge it
    _submit(chrome)
    WebDriverWait(chrome, 20).until(lambda d: d.find_element(By.ID, "form-errors").is_displayed())
    _shoot(chrome, shots / "page-lead-form-errors.png")

    plain = chrome_without_js
    plain.get(local_stack.base_url + "/")
    _fill(
        plain, {"email": "zoe.shot@example.com", "birthday_day": "31", "birthday_month": "4", "locale": "it"}
    )
    _submit(plain)
    WebDriverWait(plain, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[role=alert]"))
    _shoot(plain, shots / "page-lead-result-errors-it.png")
    plain.get(local_stack.base_url + "/")
    _fill(
        plain,
        {"email": "zoe.shot@example.com", "first_name": "Zoë", "birthday_day": "30", "birthday_month": "4"},
    )
    _submit(plain)
    WebDriverWait(plain, 20).until(lambda d: d.find_elements(By.TAG_NAME, "h1") and "Thank" in d.title)
    _shoot(plain, shots / "page-lead-result-thanks.png")


def test_the_unsubscribe_and_consent_pages_and_the_api_error_page(
    chrome: Any, shots: Path, local_stack: Any
) -> None:
    from crm_core.campaigns.unsubscribe import render_page, strings
    from crm_core.leads.web import Request, error_answer

    for locale in ("en", "de"):
        said = strings(locale)
        pages = {
            "unsubscribe-confirm": render_page(
                200,
                locale,
                said["confirm_title"],
                [said["confirm_body"]],
                button=said["confirm_button"],
                note=said["confirm_keep"],
                token="t",
            ),
            "unsubscribe-done": render_page(
                200, locale, said["done_title"], [said["done_body"], said["done_mistake"]]
            ),
            "unsubscribe-invalid": render_page(400, locale, said["invalid_title"], [said["invalid_body"]]),
            "consent-confirm": render_page(
                200,
                locale,
                said["optin_confirm_title"],
                [said["optin_confirm_body"]],
                button=said["optin_confirm_button"],
                note=said["optin_confirm_keep"],
                token="t",
            ),
            "consent-done": render_page(200, locale, said["optin_done_title"], [said["optin_done_body"]]),
        }
        for name, page in pages.items():
            _show_file(chrome, shots, f"page-{name}-{locale}", page.body)
    refused = error_answer(
        ValidationFailed([FieldError("email", "is required", "required")]),
        Request(None, False, {"accept": "text/html", "accept-language": "id"}),
    )
    _show_file(chrome, shots, "page-lead-result-errors-id-no-referer", refused.body)


def test_the_survey_answer_page_its_thanks_and_its_bad_link_page(
    chrome: Any, shots: Path, local_stack: Any
) -> None:
    from datetime import datetime, timedelta

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from crm_core.surveys import links

    created = local_stack.post("/leads", json={"email": "zoe.survey@example.com", "first_name": "Zoë"})
    assert created.status == 201, created.text
    now = datetime.fromisoformat(local_stack.now().replace("Z", "+00:00"))
    signed = links.token(created.json()["contact_id"], "after-case", "C-2027-0042", now + timedelta(days=30))

    chrome.get(f"{local_stack.base_url}{links.PATH}?token={signed}&score=9")
    assert chrome.find_element(By.CSS_SELECTOR, "input[name=score][value='9']").is_selected()
    assert chrome.find_element(By.TAG_NAME, "header").text == brand()["name"]  # the site's band
    _shoot(chrome, shots / "page-survey-answer.png")
    _shoot(chrome, shots / "page-survey-answer-phone.png", width=390)
    chrome.find_element(By.ID, "comment").send_keys("Quick and kind, thank you.")
    chrome.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(chrome, 20).until(lambda d: not d.find_elements(By.TAG_NAME, "form"))  # thanks: no form
    _shoot(chrome, shots / "page-survey-thanks.png")
    chrome.get(f"{local_stack.base_url}{links.PATH}?token={signed}x")
    assert chrome.find_element(By.TAG_NAME, "header").text == brand()["name"]
    _shoot(chrome, shots / "page-survey-invalid-link.png")
