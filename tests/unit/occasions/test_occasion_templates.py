"""The greetings read well in every locale, with and without a name, points or a year count."""

from __future__ import annotations

import pytest

from crm_core.messaging.templates import available_locales, render

URL = "https://crm.example.com/unsubscribe?token=abc.def&x=1"


@pytest.mark.parametrize("name", ["birthday", "anniversary"])
def test_each_greeting_exists_in_english_italian_german_and_indonesian(name: str) -> None:
    assert {"en", "it", "de", "id"} <= available_locales(name)


@pytest.mark.parametrize("locale", ["en", "it", "de", "id"])
@pytest.mark.parametrize("name", ["birthday", "anniversary"])
def test_every_greeting_carries_a_visible_unsubscribe_link(name: str, locale: str) -> None:
    rendered = render(name, locale, {"name": "Zoë <b>", "points": 150, "years": 4, "unsubscribe_url": URL})

    assert rendered.locale == locale
    assert URL in rendered.text
    assert URL.replace("&", "&amp;") in rendered.html
    assert "Zoë &lt;b&gt;" in rendered.html and "<b>" not in rendered.html  # names are escaped
    assert "Zoë <b>" in rendered.subject
    assert "{{" not in rendered.text + rendered.html


@pytest.mark.parametrize(
    ("locale", "with_points", "without"),
    [
        ("en", "150 bonus points", "Hello,"),
        ("it", "150 punti bonus", "Ciao,"),
        ("de", "150 Bonuspunkte", "Hallo,"),
        ("id", "150 poin bonus", "Halo,"),
    ],
)
def test_the_birthday_greeting_mentions_points_only_when_granted(
    locale: str, with_points: str, without: str
) -> None:
    granted = render("birthday", locale, {"name": "Ana", "points": 150, "years": 0, "unsubscribe_url": URL})
    none = render("birthday", locale, {"name": "", "points": 0, "years": 0, "unsubscribe_url": URL})

    assert with_points in granted.text and f"<strong>{with_points}</strong>" in granted.html
    assert "150" not in none.text and "bonus" not in none.text.lower()
    assert none.text.startswith(without)
    assert "Ana" in granted.subject and "," not in none.subject


@pytest.mark.parametrize(
    ("locale", "one", "many"),
    [
        ("en", "1 year together", "5 years together"),
        ("it", "1 anno insieme", "5 anni insieme"),
        ("de", "1 Jahr gemeinsam", "5 Jahre gemeinsam"),
        ("id", "1 tahun bersama", "5 tahun bersama"),
    ],
)
def test_the_anniversary_greeting_counts_the_years(locale: str, one: str, many: str) -> None:
    def subject(years: int) -> str:
        context = {"name": "", "points": 0, "years": years, "unsubscribe_url": URL}
        return render("anniversary", locale, context).subject

    assert subject(1).startswith(one)
    assert subject(5).startswith(many)
