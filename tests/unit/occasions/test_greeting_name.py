"""What a greeting uses: a plausible personal name, else the nameless greeting."""

from __future__ import annotations

import pytest

from crm_core.models.contacts import Contact, greeting_name


@pytest.mark.parametrize(
    "name", ["Ana", "Zoë", "O'Brien", "Jean-Luc", "J. R. R.", "María José García López", "李小龍", "Ngô Bảo"]
)
def test_a_plausible_name_is_used_as_written(name: str) -> None:
    assert greeting_name(f"  {name} ") == name


@pytest.mark.parametrize(
    "text",
    [
        "www.example.com",
        "http://evil.example",
        "ana@example.com",
        "Ana2",
        "Claim your prize now at our site",
        "Zoë <b>",
        "=?utf-8?q?Ana=0D=0ABcc:_x@y.z?=",
        "Ana\u202eevil",
        "x" * 41,
        "-Ana",
        "",
    ],
)
def test_anything_else_gets_the_nameless_greeting(text: str) -> None:
    assert greeting_name(text) == ""


def test_a_contact_is_greeted_by_its_first_name_else_a_plausible_last_name_else_no_name() -> None:
    assert Contact("c1", email="a@b.c", first_name="Ana", last_name="Rossi").display_name == "Ana"
    assert Contact("c2", email="a@b.c", first_name="visit x.com", last_name="Rossi").display_name == "Rossi"
    assert Contact("c3", email="a@b.c", first_name="visit x.com").display_name == ""
