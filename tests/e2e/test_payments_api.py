"""Payments and refunds over HTTP: the story a merchant and a customer live, and who may do what.

The authorisation matrix sends every payment, refund, balance and event call with each kind of caller
(operator, this merchant, another merchant, the customer, no key): only the right party succeeds, the others get
401/403/404, and the books do not move.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline, open_system_accounts
from kleline.ledger import EntryRequest, NormalSide, credit, debit
from kleline.ledger.audit import trial_balance
from kleline.money import Money
from kleline.wallet.customers import purse_code

from ..integration.helpers import book_snapshot
from ..operator_keys import operator_key
from .http import bearer, problem

IBAN = "FR1420041010050500013M02606"
PASSWORD = "correct horse battery staple"


class World:
    """An operator, two approved merchants and a customer with 100 EUR in the purse."""

    def __init__(self, client: TestClient, kleline: Kleline) -> None:
        self.client = client
        self.kleline = kleline
        open_system_accounts(kleline)
        kleline.ledger.open_account("card:visa:receivable", "EUR", NormalSide.DEBIT)
        self.operator = bearer(operator_key(kleline.db))
        self.shop_id, self.shop = self.merchant("Librairie Kléber", 350)
        self.other_id, self.other = self.merchant("Fromagerie Vaubourg", 400)
        signed_up = client.post("/v1/customers", json={"email": "ada@example.org", "password": PASSWORD, "name": "A"})
        self.customer_id = signed_up.json()["id"]
        token = client.post("/v1/auth/token", json={"email": "ada@example.org", "password": PASSWORD})
        self.customer = bearer(token.json()["token"])
        kleline.ledger.post(
            EntryRequest(
                "fund-ada",
                (
                    debit("card:visa:receivable", Money(10_000, "EUR")),
                    credit(purse_code(self.customer_id), Money(10_000, "EUR")),
                ),
                "purse top-up by card",
            )
        )

    def merchant(self, name: str, fee_bps: int) -> tuple[str, dict[str, str]]:
        created = self.client.post(
            "/v1/merchants",
            json={"name": name, "email": "shop@example.fr", "iban": IBAN, "fee_bps": fee_bps},
            headers=self.operator,
        )
        assert created.status_code == 201, created.text
        merchant_id = created.json()["id"]
        approved = self.client.post(f"/v1/merchants/{merchant_id}/approve", headers=self.operator)
        assert approved.status_code == 200, approved.text
        return merchant_id, bearer(created.json()["secret_key"])

    def pay(self, amount: int = 1250, **extra: Any) -> dict[str, Any]:
        created = self.client.post(
            "/v1/payments", json={"amount": amount, "currency": "EUR", **extra}, headers=self.shop
        )
        assert created.status_code == 201, created.text
        body: dict[str, Any] = created.json()
        return body

    def confirm(self, payment_id: str) -> dict[str, Any]:
        confirmed = self.client.post(
            f"/v1/payments/{payment_id}/confirm", json={"method": "purse"}, headers=self.customer
        )
        assert confirmed.status_code == 200, confirmed.text
        body: dict[str, Any] = confirmed.json()
        return body


@pytest.fixture
def world(client: TestClient, kleline: Kleline) -> World:
    return World(client, kleline)


def test_a_purse_purchase_with_manual_capture_and_a_partial_refund(world: World) -> None:
    client = world.client
    created = world.pay(2000, capture_method="manual", reference="order-17", return_url="https://shop.example/done")
    assert created["status"] == "requires_confirmation"
    assert created["checkout_url"].endswith(f"/checkout/{created['id']}")
    assert (created["fee"], created["net"], created["fee_bps"]) == (0, 0, 350)

    authorized = world.confirm(created["id"])
    assert (authorized["status"], authorized["amount_authorized"], authorized["customer_id"]) == (
        "authorized",
        2000,
        world.customer_id,
    )
    balance = client.get("/v1/balance", headers=world.shop).json()
    assert balance == {"currency": "EUR", "available": 0, "pending": 2000}

    captured = client.post(f"/v1/payments/{created['id']}/capture", json={"amount": 1500}, headers=world.shop)
    assert captured.status_code == 200, captured.text
    assert {k: captured.json()[k] for k in ("status", "amount_captured", "fee", "net")} == {
        "status": "succeeded",
        "amount_captured": 1500,
        "fee": 53,  # 52.5 rounded half up
        "net": 1447,
    }
    assert client.get("/v1/balance", headers=world.shop).json() == {"currency": "EUR", "available": 1447, "pending": 0}

    refund = client.post("/v1/refunds", json={"payment_id": created["id"], "amount": 500}, headers=world.shop)
    assert refund.status_code == 201, refund.text
    assert (refund.json()["status"], refund.json()["fee_returned"]) == ("succeeded", 18)  # 53 - round(35.0)
    payment = client.get(f"/v1/payments/{created['id']}", headers=world.shop).json()
    assert (payment["amount_refunded"], payment["fee"], payment["net"]) == (500, 35, 965)
    # The merchant knows its customer by a pseudonym, never by the id the customer has at every merchant.
    assert payment["customer_id"] == world.kleline.disclosure.pseudonym(payment["merchant_id"], world.customer_id)
    assert payment["customer_id"].startswith("cpn_") and payment["customer_email"] is None
    too_much = client.post("/v1/refunds", json={"payment_id": created["id"], "amount": 1001}, headers=world.shop)
    assert problem(too_much, 400, "refund_exceeds_captured")["param"] == "amount"
    refunds = client.get(f"/v1/payments/{created['id']}/refunds", headers=world.shop).json()
    assert [r["amount"] for r in refunds["data"]] == [500]
    assert world.kleline.ledger.balance(purse_code(world.customer_id)).posted == 10_000 - 1500 + 500
    assert trial_balance(world.kleline.db).balanced


def test_bad_payment_input_is_a_precise_error(world: World) -> None:
    client = world.client
    for body, param in [
        ({"amount": 0, "currency": "EUR"}, "amount"),
        ({"amount": 12.5, "currency": "EUR"}, "amount"),
        ({"amount": 100, "currency": "eur"}, "currency"),
        ({"amount": 100, "currency": "USD"}, "currency"),
        ({"amount": 100, "currency": "EUR", "capture_method": "later"}, "capture_method"),
        ({"amount": 100, "currency": "EUR", "return_url": "javascript:alert(1)"}, "return_url"),
    ]:
        response = client.post("/v1/payments", json=body, headers=world.shop)
        assert problem(response, 400, "validation_error")["param"] == param, body
    created = world.pay()
    no_card = client.post(f"/v1/payments/{created['id']}/confirm", json={"method": "card"}, headers=world.customer)
    assert problem(no_card, 400, "validation_error")["param"] == "card_id"
    world.confirm(created["id"])
    again = client.post(f"/v1/payments/{created['id']}/confirm", json={"method": "purse"}, headers=world.customer)
    problem(again, 409, "payment_unexpected_state")


def test_a_suspended_merchant_cannot_take_payments(world: World) -> None:
    suspended = world.client.post(f"/v1/merchants/{world.shop_id}/suspend", headers=world.operator)
    assert suspended.status_code == 200, suspended.text
    refused = world.client.post("/v1/payments", json={"amount": 100, "currency": "EUR"}, headers=world.shop)
    problem(refused, 403, "merchant_not_active")


def test_lists_show_each_party_its_own_payments(world: World) -> None:
    client = world.client
    mine = []
    for i in range(3):
        mine.append(world.pay(100 + i)["id"])
        world.kleline.clock.advance(seconds=1)  # type: ignore[attr-defined]
    theirs = client.post("/v1/payments", json={"amount": 999, "currency": "EUR"}, headers=world.other).json()["id"]
    page = client.get("/v1/payments", params={"limit": 2}, headers=world.shop).json()
    assert [p["id"] for p in page["data"]] == mine[::-1][:2] and page["has_more"] is True
    rest = client.get("/v1/payments", params={"starting_after": page["data"][-1]["id"]}, headers=world.shop).json()
    assert [p["id"] for p in rest["data"]] == [mine[0]] and rest["has_more"] is False
    everything = client.get("/v1/payments", params={"limit": 100}, headers=world.operator).json()
    assert {p["id"] for p in everything["data"]} == {*mine, theirs}
    world.confirm(mine[0])
    customers = client.get("/v1/payments", headers=world.customer).json()
    assert [p["id"] for p in customers["data"]] == [mine[0]]
    peek = client.get("/v1/payments", params={"starting_after": theirs}, headers=world.shop)
    problem(peek, 404, "not_found")


# --- the authorisation matrix -----------------------------------------------------------------------------------

CALLERS = ("operator", "merchant", "other", "customer", "nobody")


def _headers(world: World, caller: str) -> dict[str, str]:
    return {
        "operator": world.operator,
        "merchant": world.shop,
        "other": world.other,
        "customer": world.customer,
        "nobody": {},
    }[caller]


def _calls(world: World) -> list[tuple[str, str, str, dict[str, Any] | None, set[str]]]:
    """(name, method, path, body, callers that may succeed) for each payment, refund, balance and event call."""
    authorized = world.pay(500, capture_method="manual")
    world.confirm(authorized["id"])
    captured = world.pay(700)
    world.confirm(captured["id"])
    waiting = world.pay(300)
    refund = world.client.post("/v1/refunds", json={"payment_id": captured["id"], "amount": 100}, headers=world.shop)
    refund_id = refund.json()["id"]
    events = world.client.get("/v1/events", headers=world.shop).json()["data"]
    event_id = events[0]["id"]
    p, c, w = authorized["id"], captured["id"], waiting["id"]
    return [
        ("create payment", "POST", "/v1/payments", {"amount": 100, "currency": "EUR"}, {"merchant", "other"}),
        ("list payments", "GET", "/v1/payments", None, set(CALLERS) - {"nobody"}),
        ("read payment", "GET", f"/v1/payments/{c}", None, {"operator", "merchant", "customer"}),
        ("read waiting payment", "GET", f"/v1/payments/{w}", None, {"operator", "merchant"}),
        ("capture", "POST", f"/v1/payments/{p}/capture", {"amount": 100}, {"merchant"}),
        ("cancel", "POST", f"/v1/payments/{w}/cancel", None, {"merchant"}),
        ("confirm", "POST", f"/v1/payments/{w}/confirm", {"method": "purse"}, {"customer"}),
        ("refund", "POST", "/v1/refunds", {"payment_id": c, "amount": 50}, {"merchant"}),
        ("read refund", "GET", f"/v1/refunds/{refund_id}", None, {"operator", "merchant", "customer"}),
        ("list refunds", "GET", f"/v1/payments/{c}/refunds", None, {"operator", "merchant", "customer"}),
        ("balance", "GET", "/v1/balance", None, {"merchant", "other"}),
        ("list events", "GET", "/v1/events", None, {"merchant", "other"}),
        ("read event", "GET", f"/v1/events/{event_id}", None, {"merchant"}),
    ]


def _money_state(world: World) -> tuple[Any, ...]:
    with world.kleline.db.transaction(write=False) as tx:
        payments = tx.fetchall("SELECT id, status, amount_captured, amount_refunded FROM payments ORDER BY id", {})
    return (book_snapshot(world.kleline.db), tuple(tuple(row) for row in payments))


@pytest.mark.parametrize("caller", CALLERS)
def test_only_the_right_party_may_make_each_call(world: World, caller: str) -> None:
    calls = _calls(world)
    for name, method, path, body, allowed in calls:
        before = _money_state(world)
        response = world.client.request(method, path, json=body, headers=_headers(world, caller))
        if caller in allowed:
            assert response.status_code in (200, 201), (name, response.text)
            continue
        expected = {"nobody": 401}.get(caller)
        assert response.status_code == (expected or response.status_code), (name, response.text)
        assert response.status_code in (401, 403, 404), (name, caller, response.text)
        assert _money_state(world) == before, (name, caller)
        if caller in ("other", "customer") and response.status_code == 404:
            assert "not_found" in response.json()["code"], (name, response.text)
