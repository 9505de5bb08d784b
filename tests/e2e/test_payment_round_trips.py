"""What a purse payment costs the database, counted at the driver: create + confirm with Idempotency-Keys.

The budget (issue 11): the create is one transaction, the confirm is one transaction that also holds the idempotency
claim and the stored answer; together at most 2 commits that flush the WAL and 12 round trips; no read-only
transaction of its own for the API key, the customer token or the merchant row. Counted on both backends, on a warm
process (the first payment opens Kleline's own accounts and fills the caches any long-running server has).

Round trips are bounded on PostgreSQL, where each is a wait on the network; SQLite runs in the process, where a
"round trip" is a function call (they are counted and shown all the same, with ``-s``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline, build
from kleline.config import load_settings

from ..conftest import FakeClock
from .driver_calls import DriverCalls, count_driver_calls
from .test_payments_api import World


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[DriverCalls]:
    with count_driver_calls(monkeypatch) as counted:
        yield counted


@pytest.fixture
def kleline(database_url: str, clock: FakeClock, calls: DriverCalls) -> Iterator[Kleline]:
    """Kleline built while the drivers are counted, so that every connection it opens is a counting one."""
    system = build(load_settings(database_url=database_url), clock=clock)
    try:
        yield system
    finally:
        system.close()


def _purse_payment(world: World, key: str) -> dict[str, Any]:
    created = world.client.post(
        "/v1/payments",
        json={"amount": 1250, "currency": "EUR"},
        headers={**world.shop, "Idempotency-Key": f"{key}-create"},
    )
    assert created.status_code == 201, created.text
    confirmed = world.client.post(
        f"/v1/payments/{created.json()['id']}/confirm",
        json={"method": "purse"},
        headers={**world.customer, "Idempotency-Key": f"{key}-confirm"},
    )
    assert confirmed.status_code == 200, confirmed.text
    body: dict[str, Any] = confirmed.json()
    return body


def test_a_purse_payment_is_one_transaction_to_create_and_one_to_confirm(
    client: TestClient, kleline: Kleline, calls: DriverCalls
) -> None:
    world = World(client, kleline)
    _purse_payment(world, "warm-up")

    calls.counting = True
    paid = _purse_payment(world, "counted")
    calls.counting = False

    assert paid["status"] == "succeeded"
    report = calls.summary()
    assert calls.transactions == 2, report
    assert calls.read_only_transactions == 0, report
    assert calls.flushing_commits <= 2, report
    if kleline.db.is_postgres:
        assert calls.round_trips <= 12, report
    print(report)  # noqa: T201 - shown with -s: the measurement itself


def test_a_replayed_confirm_reads_its_stored_answer_in_one_transaction_without_writing(
    client: TestClient, kleline: Kleline, calls: DriverCalls
) -> None:
    world = World(client, kleline)
    first = _purse_payment(world, "once")
    headers = {**world.customer, "Idempotency-Key": "once-confirm"}

    calls.counting = True
    again = client.post(f"/v1/payments/{first['id']}/confirm", json={"method": "purse"}, headers=headers)
    calls.counting = False

    assert again.status_code == 200 and again.json() == first
    assert again.headers["Idempotent-Replayed"] == "true"
    assert calls.transactions == 1 and calls.flushing_commits == 0, calls.summary()
