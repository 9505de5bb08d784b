"""Every currency a client sends is checked at the door: a code that is not an ISO 4217 currency with minor units
(``XXX``, the metals, the test code, a made-up one) and a real currency Kleline does not hold (the purse and the
merchants' balances are in EUR) are a 400 naming the field, on every route that takes a currency, and move nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline
from kleline.ledger.audit import trial_balance

from ..integration.helpers import book_snapshot
from .http import problem
from .test_collections_api import World
from .test_receivables_api import card_top_up, in_debt

NOT_BOOKABLE = ["XXX", "XAU", "XTS", "XDR", "ABC", "QQQ"]
NOT_HELD = ["USD", "GBP", "JPY", "BHD", "CLF"]

Send = Callable[["Indebted", str], httpx.Response]


class Indebted(World):
    """Ada owes 15 EUR and has 10 EUR in her purse, a card and a bank account; a shop is open: every route that
    takes a currency has something to do."""

    def __init__(self, client: TestClient, kleline: Kleline) -> None:
        super().__init__(client, kleline)
        self.bank_account_id = in_debt(self, 1500)
        card_top_up(self, 1000)
        self.card_id = client.get("/v1/wallet/cards", headers=self.customer).json()["data"][0]["id"]
        self.shop = self.merchant()


def _payment(world: Indebted, currency: str) -> httpx.Response:
    return world.client.post("/v1/payments", json={"amount": 1250, "currency": currency}, headers=world.shop)


def _card_top_up(world: Indebted, currency: str) -> httpx.Response:
    body = {"amount": 1000, "currency": currency, "card_id": world.card_id}
    return world.client.post("/v1/wallet/top-ups", json=body, headers=world.customer)


def _debit_top_up(world: Indebted, currency: str) -> httpx.Response:
    body = {"amount": 1000, "currency": currency, "bank_account_id": world.bank_account_id}
    return world.client.post("/v1/wallet/top-ups", json=body, headers=world.customer)


def _operator_clearing(kind: str, amount: int | None) -> Send:
    def send(world: Indebted, currency: str) -> httpx.Response:
        body = {"currency": currency} if amount is None else {"amount": amount, "currency": currency}
        path = f"/v1/receivables/{world.customer_id}/{kind}"
        return world.client.post(path, json=body, headers=world.operator)

    return send


def _own_repayment(world: Indebted, currency: str) -> httpx.Response:
    body = {"amount": 500, "currency": currency}
    return world.client.post("/v1/wallet/repayments", json=body, headers=world.customer)


ROUTES: dict[str, Send] = {
    "payment": _payment,
    "card top-up": _card_top_up,
    "direct debit top-up": _debit_top_up,
    "repayment": _operator_clearing("repayments", 500),
    "repayment of everything": _operator_clearing("repayments", None),
    "write-off": _operator_clearing("write-offs", 500),
    "write-off of everything": _operator_clearing("write-offs", None),
    "own repayment": _own_repayment,
}


@pytest.fixture
def world(client: TestClient, kleline: Kleline) -> Indebted:
    return Indebted(client, kleline)


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_code_that_is_no_bookable_currency_is_a_400_naming_the_currency_and_moves_nothing(
    world: Indebted, route: str
) -> None:
    before = book_snapshot(world.kleline.db)
    for currency in NOT_BOOKABLE:
        body = problem(ROUTES[route](world, currency), 400, "validation_error")
        assert body["param"] == "currency", body
        assert currency in body["detail"], body
    assert book_snapshot(world.kleline.db) == before
    assert trial_balance(world.kleline.db).balanced


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_real_currency_that_kleline_does_not_hold_is_a_400_naming_the_currency(world: Indebted, route: str) -> None:
    before = book_snapshot(world.kleline.db)
    for currency in NOT_HELD:
        body = problem(ROUTES[route](world, currency), 400, "validation_error")
        assert body["param"] == "currency", body
    assert book_snapshot(world.kleline.db) == before
