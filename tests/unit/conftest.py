"""Unit tests have no stack, so no identity secret: contact ids are derived with the tests' key (the one a
`stack` stores as its secret, so a unit test that also starts one sees the same ids)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crm_core.contacts import identity
from tests.conftest import TEST_IDENTITY_KEY


@pytest.fixture(autouse=True)
def _identity_key() -> Iterator[None]:
    previous = identity.use_identity_key(TEST_IDENTITY_KEY.encode())
    yield
    identity.use_identity_key(previous)
