"""One normalization of an address for every entry point (crm_core.contacts.identity)."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.contacts.identity import (
    NON_ASCII_LOCAL_PART,
    IdentityConflict,
    contact_for,
    contact_id_for,
    deliverable_address,
    normalize_email,
)
from crm_core.errors import ValidationFailed


@pytest.mark.parametrize(
    "spelling", ["user@xn--exmple-cua.de", "user@exämple.de", " User@EXÄMPLE.de ", "USER@XN--EXMPLE-CUA.DE"]
)
def test_every_spelling_of_an_international_domain_is_one_identity(spelling: str) -> None:
    assert normalize_email(spelling) == "user@xn--exmple-cua.de"
    assert contact_id_for(spelling) == contact_id_for("user@xn--exmple-cua.de")


def test_a_decomposed_umlaut_is_the_same_domain_as_a_composed_one() -> None:
    assert normalize_email("user@exa\u0308mple.de") == normalize_email("user@exämple.de")


@given(st.text())
def test_normalization_never_raises_and_is_idempotent(text: str) -> None:
    once = normalize_email(text)
    assert normalize_email(once) == once


def test_a_utf8_local_part_is_refused_at_the_door_naming_the_rule() -> None:
    with pytest.raises(ValidationFailed) as refused:
        deliverable_address("jörg@müller.de")
    assert [(e.field, e.message) for e in refused.value.errors] == [("email", NON_ASCII_LOCAL_PART)]


def test_an_international_domain_is_kept_as_punycode_with_the_local_part_as_written() -> None:
    assert deliverable_address("Joerg@Müller.de") == "Joerg@xn--mller-kva.de"


def test_a_contact_id_that_is_not_the_address_s_contact_is_a_conflict() -> None:
    assert contact_for("ana@example.com", None) == contact_id_for("ana@example.com")
    assert contact_for("Ana@Example.com", contact_id_for("ana@example.com")) == contact_id_for(
        "ana@example.com"
    )
    assert contact_for(None, "ct_given") == "ct_given"
    with pytest.raises(IdentityConflict):
        contact_for("ana@example.com", contact_id_for("bo@example.com"))


def _plain_sha256_id(address: str) -> str:
    """The id an address had before ids were keyed: anyone could compute it from a list of addresses."""
    digest = hashlib.sha256(normalize_email(address).encode("utf-8")).digest()
    return "ct_" + base64.b32encode(digest).decode("ascii").lower().rstrip("=")[:26]


def test_a_contact_id_is_a_keyed_hash_not_the_plain_hash_of_the_address() -> None:
    contact_id = contact_id_for("ana@example.com")

    assert contact_id != _plain_sha256_id("ana@example.com")
    assert re.fullmatch(r"ct_[a-z2-7]{26}", contact_id)  # the shape every id validator knows
    assert contact_id == contact_id_for(" Ana@Example.COM ")  # still one id per person


def test_another_identity_key_gives_other_ids() -> None:
    one = contact_id_for("ana@example.com", key=b"the key of one deployment")
    other = contact_id_for("ana@example.com", key=b"the key of another deployment")

    assert one != other
    assert one == contact_id_for("ana@example.com", key=b"the key of one deployment")
