"""The idempotency storm of issue 4: 200 payment, capture and refund requests, each sent 5 times at once to a
real server, have exactly one effect per key, and every copy that was answered got the same answer."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.ledger.audit import trial_balance, verify
from kleline.merchants.model import balance_account
from kleline.money import Money
from kleline.payments.model import PaymentRequest
from kleline.wallet.customers import purse_code

from ..conftest import FakeClock
from .http import problem
from .test_idempotency import serving
from .test_payments_api import World

CREATES, CAPTURES, REFUNDS, COPIES = 80, 60, 60, 5


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline whose exemptions never run out, so that one customer can authorise a hundred small payments."""
    settings = load_settings(database_url=database_url, sca_cumulative_limit=10**9, sca_max_payments=10**6)
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.mark.slow
def test_a_storm_of_payment_capture_and_refund_duplicates_has_one_effect_per_key(
    client: TestClient, kleline: Kleline
) -> None:
    world = World(client, kleline)
    authorized = []
    for _ in range(CAPTURES):
        payment = kleline.payments.create(world.shop_id, _request(50, "manual"))
        authorized.append(kleline.payments.confirm(payment.id, world.customer_id, "purse").id)
    captured = []
    for _ in range(REFUNDS):
        payment = kleline.payments.create(world.shop_id, _request(40, "automatic"))
        captured.append(kleline.payments.confirm(payment.id, world.customer_id, "purse").id)
    purse_before = kleline.ledger.balance(purse_code(world.customer_id)).posted

    sends: list[tuple[str, str, dict[str, Any]]] = []
    for n in range(CREATES):
        sends += [(f"create-{n}", "/v1/payments", {"amount": 100 + n, "currency": "EUR"})] * COPIES
    for n, payment_id in enumerate(authorized):
        sends += [(f"capture-{n}", f"/v1/payments/{payment_id}/capture", {"amount": 30})] * COPIES
    for n, payment_id in enumerate(captured):
        sends += [(f"refund-{n}", "/v1/refunds", {"payment_id": payment_id, "amount": 15})] * COPIES
    assert len(sends) == (CREATES + CAPTURES + REFUNDS) * COPIES == 1000

    app = create_app(kleline)
    with serving(app) as url, httpx.Client(base_url=url, timeout=60, limits=httpx.Limits(max_connections=64)) as http:

        def send(item: tuple[str, str, dict[str, Any]]) -> tuple[str, httpx.Response]:
            key, path, body = item
            return key, http.post(path, json=body, headers={**world.shop, "Idempotency-Key": key})

        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(send, sends))
        settled = {
            key: http.post(path, json=body, headers={**world.shop, "Idempotency-Key": key}) for key, path, body in sends
        }

    answers: dict[str, set[bytes]] = {}
    for key, response in results:
        if response.status_code == 409:
            problem(response, 409, "idempotency_request_in_progress")
            continue
        assert response.status_code in (200, 201), (key, response.text)
        answers.setdefault(key, set()).add(response.content)
    assert all(len(bodies) == 1 for bodies in answers.values())
    for key, response in settled.items():
        assert response.status_code in (200, 201), (key, response.text)
        assert response.headers["idempotent-replayed"] == "true"
        assert key not in answers or {response.content} == answers[key]

    with kleline.db.transaction(write=False) as tx:
        payments = int(tx.fetchone("SELECT COUNT(*) FROM payments")[0])
        refunds = tx.fetchall("SELECT payment_id, amount, status FROM refunds", {})
        capture_entries = int(
            tx.fetchone("SELECT COUNT(*) FROM ledger_entries WHERE id LIKE :pattern", {"pattern": "%:capture"})[0]
        )
    assert payments == CAPTURES + REFUNDS + CREATES
    assert sorted((row[0], int(row[1]), row[2]) for row in refunds) == sorted(
        (payment_id, 15, "succeeded") for payment_id in captured
    )
    assert capture_entries == CAPTURES + REFUNDS
    for payment_id in authorized:
        payment = kleline.payments.get(payment_id)
        assert (payment.status, payment.amount_captured) == ("succeeded", 30)
    # The captures took 30 of each 50 held and released the rest; the refunds gave 15 back each.
    purse = kleline.ledger.balance(purse_code(world.customer_id))
    assert (purse.posted, purse.held) == (purse_before - CAPTURES * 30 + REFUNDS * 15, 0)
    merchant = kleline.ledger.balance(balance_account(world.shop_id)).posted
    expected_net = sum(kleline.payments.get(p).net for p in authorized + captured)
    assert merchant == expected_net
    assert trial_balance(kleline.db).balanced
    assert verify(kleline.db).ok


def _request(amount: int, capture_method: Literal["automatic", "manual"]) -> PaymentRequest:
    return PaymentRequest(Money(amount, "EUR"), capture_method=capture_method)
