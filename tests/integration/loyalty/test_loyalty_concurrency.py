"""Eight threads against one balance, through a moto SERVER over HTTP, as eight Lambdas would.

Why the server is single-threaded: moto checks a condition and then writes, in Python, with no
lock between the two. In-process (`mock_aws`) or in the threaded server, two requests can both
pass the check before either writes, a race DynamoDB itself never has (it evaluates a
transaction's conditions and applies its writes atomically). Served by one thread, moto handles
one request at a time, so each TransactWriteItems is atomic, as on AWS, while our eight threads
still interleave their reads and writes freely: exactly the races the ledger must survive.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from crm_core import aws, loyalty
from crm_core.errors import RetryableError
from crm_core.loyalty.errors import InsufficientPoints
from crm_core.models import Contact, contact_id_for
from crm_core.models.base import reset_connections
from crm_core.models.loyalty import LedgerEntry
from crm_core.settings import reset_settings
from infra.provision import table_spec
from infra.template import Template
from tests.loyalty_data import ANA, balance_of, ledger_sum, purchase

THREADS = 8
CID = contact_id_for(ANA)


def _reset() -> None:
    reset_settings()
    aws.reset_clients()
    reset_connections()


@pytest.fixture(scope="module")
def moto_server(template: Template) -> Iterator[str]:
    """moto on a free loopback port, one request at a time, with the template's two tables these
    tests touch, the enrollments a purchase starts and the owners table it routes new customers in
    (creating every resource over HTTP costs seconds; no message is sent here)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in template.environment().items():
            patch.setenv(name, value)
        patch.setenv("AWS_ENDPOINT_URL", url)  # boto3 and pynamodb (botocore) both follow it
        _reset()
        ddb = boto3.client("dynamodb")
        for logical_id in ("LoyaltyTable", "ContactsTable", "EnrollmentsTable", "OwnersTable"):
            ddb.create_table(**table_spec(template, logical_id))
        yield url
        _reset()
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def ana(moto_server: str, frozen_clock: Any) -> str:
    Contact(CID, email=ANA, created_at=frozen_clock.now()).save()
    return CID


def in_parallel(work: Any, count: int = THREADS) -> list[Any]:
    barrier = threading.Barrier(count)

    def run(n: int) -> Any:
        barrier.wait()  # all start together, to make the races as likely as they can be
        try:
            return work(n)
        except Exception as exc:  # noqa: BLE001 - the test sorts outcomes out
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_eight_threads_redeeming_from_one_balance_never_overspend(ana: str) -> None:
    loyalty.apply_order_event(purchase("A-1", "450.00"))  # 450 + 100 bonus = 550 points, still bronze
    assert balance_of(ANA) == 550

    def checkout(n: int) -> list[Any]:
        outcomes: list[Any] = []
        for attempt in range(2):
            try:
                outcomes.append(loyalty.redeem(CID, f"checkout-{n}-{attempt}", 40))
            except (InsufficientPoints, RetryableError) as exc:
                outcomes.append(exc)
        return outcomes

    outcomes = [o for per_thread in in_parallel(checkout) for o in per_thread]

    redeemed = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, InsufficientPoints)]
    gave_up = [o for o in outcomes if isinstance(o, RetryableError)]
    assert len(redeemed) + len(refused) + len(gave_up) == 16, outcomes
    assert len(redeemed) <= 13  # 13 x 40 = 520: a 14th would overspend
    assert balance_of(ANA) == 550 - 40 * len(redeemed) == ledger_sum(ANA)
    assert balance_of(ANA) >= 0
    entries = list(LedgerEntry.query(CID, LedgerEntry.entry_key.startswith("redeem#")))
    assert len(entries) == len(redeemed)
    assert all(int(e.balance_after) >= 0 for e in entries)
    if not gave_up:  # nobody ran out of optimistic retries: then every point that could go went
        assert len(redeemed) == 13


def test_eight_threads_replaying_one_purchase_award_it_once(moto_server: str, frozen_clock: Any) -> None:
    event = purchase("B-1", "42.00", email="bo@example.com")  # an unknown email: the contact is created too

    results = in_parallel(lambda _n: loyalty.apply_order_event(event))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert [r.replay for r in results].count(False) == 1
    assert balance_of("bo@example.com") == 142 == ledger_sum("bo@example.com")
    assert Contact.get(contact_id_for("bo@example.com")).customer_since == "2026-11-23"
