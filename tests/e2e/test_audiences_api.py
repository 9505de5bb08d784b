"""Audiences and offers over HTTP: a merchant's estimate and offers (its own only, budget refusals as problem
JSON), and the customer's inbox: list, read, answer once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline, build
from kleline.config import load_settings

from ..conftest import FakeClock
from ..operator_keys import OPERATOR
from .http import bearer, problem

PASSWORD = "correct horse battery staple"
IBAN = "FR1420041010050500013M02606"


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    system = build(load_settings(database_url=database_url, audience_monthly_budget_milli=1500), clock=clock)
    try:
        yield system
    finally:
        system.close()


def _shop(kleline: Kleline, name: str) -> tuple[str, str]:
    registered, key = kleline.merchants.register(name=name, email=f"{name}@example.org", iban=IBAN, category="books")
    kleline.merchants.approve(registered.id, actor=OPERATOR)
    return registered.id, key


def _customer(client: TestClient, email: str) -> str:
    response = client.post("/v1/customers", json={"email": email, "password": PASSWORD, "name": "Ada"})
    assert response.status_code == 201, response.text
    return str(client.post("/v1/auth/token", json={"email": email, "password": PASSWORD}).json()["token"])


def _offer(clock: FakeClock, **changes: object) -> dict[str, object]:
    return {
        "title": "Dix pour cent sur les romans",
        "body": "Jusqu'à dimanche.",
        "link": "https://librairie.example/romans",
        "valid_until": (clock() + timedelta(days=7)).isoformat(),
        "audience": {},
        **changes,
    }


def test_a_merchant_estimates_sends_and_reads_its_offers(
    client: TestClient, kleline: Kleline, clock: FakeClock
) -> None:
    shop, key = _shop(kleline, "librairie")
    _, other_key = _shop(kleline, "autre")
    ada = _customer(client, "ada@example.org")
    customer_id = client.get("/v1/wallet", headers=bearer(ada)).json()["customer"]["id"]
    kleline.consents.grant(customer_id, "offers", "category:books", channel="wallet")

    estimate = client.post("/v1/audiences/estimate", json={"spend": "under_50"}, headers=bearer(key))
    assert estimate.status_code == 200, estimate.text
    body = estimate.json()
    assert (body["size"], body["below_minimum"], body["minimum"], body["epsilon_milli"]) == (None, True, 50, 500)
    assert body["budget"] == {
        "month": "2026-01",
        "spent_milli": 500,
        "limit_milli": 1500,
        "remaining_milli": 1000,
        "releases_left": 2,
    }
    problem(client.post("/v1/audiences/estimate", json={"spend": "rich"}, headers=bearer(key)), 400, "validation_error")
    problem(
        client.post("/v1/audiences/estimate", json={"mall_id": "mall_x"}, headers=bearer(key)), 400, "invalid_audience"
    )
    problem(
        client.post("/v1/offers", json=_offer(clock, link="http://x.example/"), headers=bearer(key)),
        400,
        "invalid_offer",
    )

    sent = client.post("/v1/offers", json=_offer(clock), headers=bearer(key))
    assert sent.status_code == 201, sent.text
    offer = sent.json()
    assert (offer["reach"], offer["reach_below_minimum"], offer["answered"]) == (None, True, 0)
    assert client.get(f"/v1/offers/{offer['id']}", headers=bearer(key)).json() == offer
    assert [o["id"] for o in client.get("/v1/offers", headers=bearer(key)).json()["data"]] == [offer["id"]]
    problem(client.get(f"/v1/offers/{offer['id']}", headers=bearer(other_key)), 404, "offer_not_found")
    assert client.get(f"/v1/offers/{offer['id']}", headers=bearer(ada)).status_code in (401, 403)

    inbox = client.get("/v1/wallet/offers", headers=bearer(ada)).json()
    assert inbox["unread"] == 1 and [o["id"] for o in inbox["data"]] == [offer["id"]]
    assert inbox["data"][0]["merchant_name"] == "librairie" and inbox["data"][0]["expired"] is False
    read = client.post(f"/v1/wallet/offers/{offer['id']}/read", headers=bearer(ada))
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert client.get("/v1/wallet/offers", headers=bearer(ada)).json()["unread"] == 0
    answer = client.post(f"/v1/wallet/offers/{offer['id']}/answer", json={"answer": "interested"}, headers=bearer(ada))
    assert answer.status_code == 200 and answer.json()["answer"] == "interested"
    again = client.post(f"/v1/wallet/offers/{offer['id']}/answer", json={"answer": "interested"}, headers=bearer(ada))
    assert again.json() == answer.json()
    problem(
        client.post(f"/v1/wallet/offers/{offer['id']}/answer", json={"answer": "share_email"}, headers=bearer(ada)),
        409,
        "offer_already_answered",
    )
    assert client.get(f"/v1/offers/{offer['id']}", headers=bearer(key)).json()["answered"] == 1

    client.post("/v1/audiences/estimate", json={}, headers=bearer(key))
    refused = problem(
        client.post("/v1/offers", json=_offer(clock), headers=bearer(key)), 403, "privacy_budget_exhausted"
    )
    assert "2026-01" in refused["detail"]
    problem(client.post("/v1/audiences/estimate", json={}, headers=bearer(key)), 403, "privacy_budget_exhausted")
    assert client.get("/v1/audiences/budget", headers=bearer(key)).json()["releases_left"] == 0


def test_an_estimate_keyed_twice_is_released_and_paid_once(client: TestClient, kleline: Kleline) -> None:
    _, key = _shop(kleline, "librairie")
    headers = {**bearer(key), "Idempotency-Key": "estimate-1"}
    first = client.post("/v1/audiences/estimate", json={}, headers=headers)
    second = client.post("/v1/audiences/estimate", json={}, headers=headers)
    assert first.status_code == second.status_code == 200 and first.json() == second.json()
    assert second.json()["budget"]["spent_milli"] == 500
    problem(
        client.post("/v1/audiences/estimate", json={"spend": "over_1000"}, headers=headers),
        409,
        "idempotency_key_reused",
    )


def test_another_customer_cannot_see_or_answer_an_offer(client: TestClient, kleline: Kleline, clock: FakeClock) -> None:
    _, key = _shop(kleline, "librairie")
    ada, bob = _customer(client, "ada@example.org"), _customer(client, "bob@example.org")
    ada_id = client.get("/v1/wallet", headers=bearer(ada)).json()["customer"]["id"]
    kleline.consents.grant(ada_id, "offers", "category:books", channel="wallet")
    offer = client.post("/v1/offers", json=_offer(clock), headers=bearer(key)).json()
    assert client.get("/v1/wallet/offers", headers=bearer(bob)).json() == {"data": [], "has_more": False, "unread": 0}
    problem(
        client.post(f"/v1/wallet/offers/{offer['id']}/answer", json={"answer": "interested"}, headers=bearer(bob)),
        404,
        "offer_not_found",
    )
    assert client.get("/v1/wallet/offers", headers=bearer(key)).status_code in (401, 403)
