"""The wallet's consents over HTTP, and what they let a merchant see: ``GET /v1/wallet/consents``, one call to grant
and one to withdraw, the checkout's ``share_email`` on confirm, and the merchant's payments, events and search,
which show the customer's email only while the customer shares it with that merchant."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline

from .http import problem
from .test_payments_api import World


@pytest.fixture
def world(client: TestClient, kleline: Kleline) -> World:
    return World(client, kleline)


def _share(world: World, merchant_id: str, action: str = "", **extra: Any) -> dict[str, Any]:
    path = "/v1/wallet/consents" + (f"/{action}" if action else "")
    answer = world.client.post(
        path, json={"purpose": "share_email", "scope": f"merchant:{merchant_id}", **extra}, headers=world.customer
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _merchant_view(world: World, payment_id: str) -> dict[str, Any]:
    body: dict[str, Any] = world.client.get(f"/v1/payments/{payment_id}", headers=world.shop).json()
    return body


def test_a_customer_grants_and_withdraws_and_the_merchant_sees_the_email_only_in_between(world: World) -> None:
    paid = world.confirm(world.pay(900)["id"])
    pseudonym = _merchant_view(world, paid["id"])["customer_id"]
    assert pseudonym.startswith("cpn_") and _merchant_view(world, paid["id"])["customer_email"] is None

    granted = _share(world, world.shop_id, language="fr")
    assert (granted["granted"], granted["text_version"]) == (True, "share-email-v1/fr")
    seen = _merchant_view(world, paid["id"])
    assert (seen["customer_id"], seen["customer_email"]) == (pseudonym, "ada@example.org")
    events = world.client.get("/v1/events", headers=world.shop).json()["data"]
    assert {e["data"]["customer_email"] for e in events if e["data"]["object"] == "payment"} == {"ada@example.org"}
    found = world.client.get("/v1/payments", params={"q": "ADA@example.org"}, headers=world.shop).json()["data"]
    assert [p["id"] for p in found] == [paid["id"]]

    withdrawn = _share(world, world.shop_id, "withdraw")
    assert withdrawn["granted"] is False
    seen = _merchant_view(world, paid["id"])
    assert (seen["customer_id"], seen["customer_email"]) == (pseudonym, None)
    events = world.client.get("/v1/events", headers=world.shop).json()["data"]
    assert all(e["data"].get("customer_email") is None for e in events)
    assert all(e["data"].get("customer_id") in (None, pseudonym) for e in events)
    assert world.client.get("/v1/payments", params={"q": "ada@example.org"}, headers=world.shop).json()["data"] == []

    listed = world.client.get("/v1/wallet/consents", headers=world.customer).json()
    assert [(c["purpose"], c["scope"], c["granted"]) for c in listed["data"]] == [
        ("share_email", f"merchant:{world.shop_id}", False)
    ]
    assert [(e["action"], e["channel"], e["text_version"]) for e in listed["history"]] == [
        ("grant", "api", "share-email-v1/fr"),
        ("withdraw", "api", "share-email-v1/en"),
    ]
    assert listed["history"][0]["id"].startswith("cns_")


def test_sharing_with_one_merchant_tells_nothing_to_another(world: World) -> None:
    mine = world.confirm(world.pay(500)["id"])
    created = world.client.post("/v1/payments", json={"amount": 700, "currency": "EUR"}, headers=world.other)
    theirs = world.confirm(created.json()["id"])
    _share(world, world.other_id)
    assert _merchant_view(world, mine["id"])["customer_email"] is None
    other_view = world.client.get(f"/v1/payments/{theirs['id']}", headers=world.other).json()
    assert other_view["customer_email"] == "ada@example.org"
    assert other_view["customer_id"] != _merchant_view(world, mine["id"])["customer_id"]
    assert world.client.get("/v1/payments", params={"q": "ada@example.org"}, headers=world.shop).json()["data"] == []


def test_the_customer_and_operators_still_see_the_customer_s_own_id(world: World) -> None:
    paid = world.confirm(world.pay(300)["id"])
    assert paid["customer_id"] == world.customer_id
    for caller in (world.customer, world.operator):
        seen = world.client.get(f"/v1/payments/{paid['id']}", headers=caller).json()
        assert seen["customer_id"] == world.customer_id


def test_share_email_on_confirm_is_off_unless_asked(world: World) -> None:
    world.confirm(world.pay(400)["id"])
    assert world.client.get("/v1/wallet/consents", headers=world.customer).json()["data"] == []
    created = world.pay(400)
    confirmed = world.client.post(
        f"/v1/payments/{created['id']}/confirm", json={"method": "purse", "share_email": True}, headers=world.customer
    )
    assert confirmed.status_code == 200, confirmed.text
    assert _merchant_view(world, created["id"])["customer_email"] == "ada@example.org"
    history = world.client.get("/v1/wallet/consents", headers=world.customer).json()["history"]
    assert [(e["purpose"], e["scope"], e["channel"]) for e in history] == [
        ("share_email", f"merchant:{world.shop_id}", "api")
    ]


def test_a_scope_that_does_not_fit_or_names_nothing_is_refused(world: World) -> None:
    client = world.client
    for body, param in (
        ({"purpose": "share_email", "scope": "mall:x"}, "scope"),
        ({"purpose": "share_email", "scope": "merchant:mer_nobody"}, "scope"),
        ({"purpose": "audience_statistics", "scope": "category:books"}, "scope"),
    ):
        assert (
            problem(client.post("/v1/wallet/consents", json=body, headers=world.customer), 400, "invalid_consent")[
                "param"
            ]
            == param
        )
    problem(
        client.post("/v1/wallet/consents", json={"purpose": "spam"}, headers=world.customer), 400, "validation_error"
    )
    assert client.get("/v1/wallet/consents", headers=world.customer).json()["history"] == []


def test_only_the_customer_reads_and_changes_its_consents(world: World) -> None:
    body = {"purpose": "audience_statistics"}
    for headers in (world.shop, world.operator):
        assert world.client.get("/v1/wallet/consents", headers=headers).status_code == 403
        assert world.client.post("/v1/wallet/consents", json=body, headers=headers).status_code == 403
    assert world.client.get("/v1/wallet/consents").status_code == 401


def test_a_retried_grant_with_its_idempotency_key_is_answered_once(world: World) -> None:
    headers = {**world.customer, "Idempotency-Key": "grant-1"}
    body = {"purpose": "audience_statistics"}
    first = world.client.post("/v1/wallet/consents", json=body, headers=headers)
    again = world.client.post("/v1/wallet/consents", json=body, headers=headers)
    assert (first.status_code, first.json()) == (again.status_code, again.json())
    problem(
        world.client.post("/v1/wallet/consents/withdraw", json=body, headers=headers), 409, "idempotency_key_reused"
    )
    assert len(world.client.get("/v1/wallet/consents", headers=world.customer).json()["history"]) == 1
