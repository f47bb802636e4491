"""The local stack for end-to-end tests: a fresh one per test module, on a free port, stopped after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.local.client import LocalClient
from infra.local.stack import LocalStack
from infra.template import Template


@pytest.fixture(scope="module")
def local_stack() -> Iterator[LocalClient]:
    """template.yaml served on 127.0.0.1:<free port> with fresh moto state; a LocalClient bound to it.

    Do not use it in a module that also uses the in-process `stack` fixture: moto's state is
    process-wide, and `mock_aws` wipes it when it starts.
    """
    with LocalStack(Template(), port=0, log_requests=False) as stack:
        yield LocalClient(stack.url)
        # The stack runs each function under its IAM role: a denied call is a feature AWS would break.
        assert not stack.deployment.denials, "AWS would deny:\n  " + "\n  ".join(stack.deployment.denials)
