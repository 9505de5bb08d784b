"""What a merchant may write in each status (README, "Merchants"), over HTTP: every write × every status.

- active: everything.
- pending (awaiting approval): prepares its integration (keys, webhook endpoints), takes no payments and captures
  nothing; it has no payment yet, so the payment writes it is allowed find nothing (404).
- suspended: no new money (payments, captures, a customer's confirmation of its payment) and nothing new to act with
  (keys, webhook endpoints); what protects customers or winds down stays open (cancel, refund, revoking keys,
  deleting endpoints, redelivering past events), and its balance is still paid out.
- refused (an application an operator turned down): as pending, without new keys or webhook endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline

from .http import bearer, problem
from .test_payments_api import IBAN, World

HOOK_URL = "http://93.184.216.34/kleline/hook"  # a public address: no DNS needed
MISSING = "missing"


@dataclass
class Shop:
    """A merchant in the status under test, with one object ready for each write (created while it was active)."""

    id: str
    key: dict[str, str]
    objects: dict[str, str] = field(default_factory=dict)


def _shop(world: World, status: str) -> Shop:
    client = world.client
    if status in ("pending", "refused"):
        created = client.post("/v1/merchants", json={"name": "Atelier Neuf", "email": "new@example.fr", "iban": IBAN})
        assert created.status_code == 201, created.text
        if status == "refused":
            url = f"/v1/merchants/{created.json()['id']}/refuse"
            refused = client.post(url, json={"reason": "No Kbis extract"}, headers=world.operator)
            assert refused.status_code == 200, refused.text
        # Nothing to act on yet: a pending merchant never had a payment, a second key, an endpoint or an event.
        names = ("capture", "cancel", "refund", "confirm", "revoke_key", "delete_endpoint", "redeliver")
        return Shop(created.json()["id"], bearer(created.json()["secret_key"]), dict.fromkeys(names, MISSING))
    shop = Shop(world.shop_id, world.shop)
    endpoint = client.post("/v1/webhook-endpoints", json={"url": HOOK_URL}, headers=shop.key)
    assert endpoint.status_code == 201, endpoint.text
    shop.objects["delete_endpoint"] = endpoint.json()["id"]
    for name in ("capture", "cancel"):
        payment = world.pay(300, capture_method="manual")
        world.confirm(payment["id"])
        shop.objects[name] = payment["id"]
    paid = world.pay(400)
    world.confirm(paid["id"])
    shop.objects["refund"] = paid["id"]
    shop.objects["confirm"] = world.pay(500)["id"]
    key = client.post(f"/v1/merchants/{shop.id}/keys", headers=shop.key)
    assert key.status_code == 201, key.text
    shop.objects["revoke_key"] = key.json()["id"]
    shop.objects["redeliver"] = client.get("/v1/events", headers=shop.key).json()["data"][0]["id"]
    if status == "suspended":
        suspended = client.post(f"/v1/merchants/{shop.id}/suspend", headers=world.operator)
        assert suspended.status_code == 200, suspended.text
    return shop


Write = Callable[[World, Shop], httpx.Response]

WRITES: dict[str, Write] = {
    "create payment": lambda w, s: w.client.post(
        "/v1/payments", json={"amount": 100, "currency": "EUR"}, headers=s.key
    ),
    "capture": lambda w, s: w.client.post(f"/v1/payments/{s.objects['capture']}/capture", headers=s.key),
    "cancel": lambda w, s: w.client.post(f"/v1/payments/{s.objects['cancel']}/cancel", headers=s.key),
    "refund": lambda w, s: w.client.post(
        "/v1/refunds", json={"payment_id": s.objects["refund"], "amount": 100}, headers=s.key
    ),
    "customer confirms": lambda w, s: w.client.post(
        f"/v1/payments/{s.objects['confirm']}/confirm", json={"method": "purse"}, headers=w.customer
    ),
    "create key": lambda w, s: w.client.post(f"/v1/merchants/{s.id}/keys", headers=s.key),
    "operator creates key": lambda w, s: w.client.post(f"/v1/merchants/{s.id}/keys", headers=w.operator),
    "revoke key": lambda w, s: w.client.delete(f"/v1/merchants/{s.id}/keys/{s.objects['revoke_key']}", headers=s.key),
    "create webhook endpoint": lambda w, s: w.client.post(
        "/v1/webhook-endpoints", json={"url": HOOK_URL}, headers=s.key
    ),
    "delete webhook endpoint": lambda w, s: w.client.delete(
        f"/v1/webhook-endpoints/{s.objects['delete_endpoint']}", headers=s.key
    ),
    "redeliver event": lambda w, s: w.client.post(f"/v1/events/{s.objects['redeliver']}/redeliver", headers=s.key),
}

REFUSED = (403, "merchant_not_active")
NOT_FOUND = (404, "not_found")

# write: (active, pending, suspended, refused); an int is a success status, a tuple the problem's (status, code).
EXPECTED: dict[str, tuple[int | tuple[int, str], ...]] = {
    "create payment": (201, REFUSED, REFUSED, REFUSED),
    "capture": (200, REFUSED, REFUSED, REFUSED),
    "cancel": (200, NOT_FOUND, 200, NOT_FOUND),
    "refund": (201, NOT_FOUND, 201, NOT_FOUND),
    "customer confirms": (200, NOT_FOUND, REFUSED, NOT_FOUND),
    "create key": (201, 201, REFUSED, REFUSED),
    "operator creates key": (201, 201, REFUSED, REFUSED),
    "revoke key": (204, NOT_FOUND, 204, NOT_FOUND),
    "create webhook endpoint": (201, 201, REFUSED, REFUSED),
    "delete webhook endpoint": (204, NOT_FOUND, 204, NOT_FOUND),
    "redeliver event": (202, NOT_FOUND, 202, NOT_FOUND),
}
STATUSES = ("active", "pending", "suspended", "refused")


def test_the_table_names_every_merchant_write() -> None:
    assert EXPECTED.keys() == WRITES.keys()


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("write", list(WRITES))
def test_each_merchant_write_is_allowed_or_refused_by_the_merchants_status(
    client: TestClient, kleline: Kleline, status: str, write: str
) -> None:
    world = World(client, kleline)
    shop = _shop(world, status)
    expected = EXPECTED[write][STATUSES.index(status)]
    response = WRITES[write](world, shop)
    if isinstance(expected, int):
        assert response.status_code == expected, response.text
    else:
        body = problem(response, *expected)
        if expected == REFUSED:
            assert status in body["detail"] or "approval" in body["detail"]
            assert body["merchant_status"] == status


def test_a_suspended_merchants_refused_writes_change_nothing(client: TestClient, kleline: Kleline) -> None:
    world = World(client, kleline)
    shop = _shop(world, "suspended")
    keys_before = client.get(f"/v1/merchants/{shop.id}/keys", headers=shop.key).json()
    endpoints_before = client.get("/v1/webhook-endpoints", headers=shop.key).json()
    for write in ("create key", "operator creates key", "create webhook endpoint", "capture"):
        WRITES[write](world, shop)
    assert client.get(f"/v1/merchants/{shop.id}/keys", headers=shop.key).json() == keys_before
    assert client.get("/v1/webhook-endpoints", headers=shop.key).json() == endpoints_before
    payment: dict[str, Any] = client.get(f"/v1/payments/{shop.objects['capture']}", headers=shop.key).json()
    assert payment["status"] == "authorized"
