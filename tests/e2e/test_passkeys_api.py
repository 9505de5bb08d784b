"""Passkeys through the API: a wallet app registers one, lists and removes it, and passes a payment's challenge."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline

from ..soft_authenticator import SoftAuthenticator
from .checkout_world import PASSWORD, card, customer, fund, payment, shop
from .http import bearer, problem

ORIGIN = "http://127.0.0.1:8000"  # the default public_url: the relying party


def token(client: TestClient, email: str) -> dict[str, str]:
    answer = client.post("/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return bearer(answer.json()["token"])


def register(client: TestClient, who: dict[str, str], device: SoftAuthenticator, name: str) -> dict[str, object]:
    ceremony = client.post("/v1/wallet/passkeys/registrations", headers=who)
    assert ceremony.status_code == 201, ceremony.text
    credential = json.loads(device.create(json.dumps(ceremony.json()["options"])))
    body = {"ceremony_id": ceremony.json()["ceremony_id"], "credential": credential, "name": name}
    added = client.post("/v1/wallet/passkeys", json=body, headers=who)
    assert added.status_code == 201, added.text
    result: dict[str, object] = added.json()
    return result


def test_a_wallet_app_registers_lists_and_removes_its_passkeys(kleline: Kleline, client: TestClient) -> None:
    customer(kleline)
    customer(kleline, "grace@example.org", "Grace Hopper")
    ada, grace = token(client, "ada@example.org"), token(client, "grace@example.org")
    device = SoftAuthenticator(ORIGIN)
    added = register(client, ada, device, "Ada's phone")
    assert added["name"] == "Ada's phone" and added["transports"] == ["internal"] and added["last_used_at"] is None

    listed = client.get("/v1/wallet/passkeys", headers=ada).json()
    assert [p["id"] for p in listed["data"]] == [added["id"]] and listed["has_more"] is False
    assert client.get("/v1/wallet/passkeys", headers=grace).json()["data"] == []

    problem(client.delete(f"/v1/wallet/passkeys/{added['id']}", headers=grace), 404, "passkey_not_found")
    assert client.delete(f"/v1/wallet/passkeys/{added['id']}", headers=ada).status_code == 204
    assert client.get("/v1/wallet/passkeys", headers=ada).json()["data"] == []


def test_a_registration_that_does_not_verify_is_a_problem(kleline: Kleline, client: TestClient) -> None:
    customer(kleline)
    ada = token(client, "ada@example.org")
    ceremony = client.post("/v1/wallet/passkeys/registrations", headers=ada).json()
    credential = json.loads(SoftAuthenticator("https://evil.example").create(json.dumps(ceremony["options"])))
    body = {"ceremony_id": ceremony["ceremony_id"], "credential": credential, "name": "Phone"}
    refused = problem(client.post("/v1/wallet/passkeys", json=body, headers=ada), 400, "passkey_response_invalid")
    assert refused["param"] == "credential"
    again = client.post("/v1/wallet/passkeys", json=body, headers=ada)
    problem(again, 404, "passkey_ceremony_not_found")  # spent by the first try


def test_a_payment_above_the_exemption_is_confirmed_with_a_passkey(kleline: Kleline, client: TestClient) -> None:
    ada_customer = customer(kleline)
    fund(kleline, ada_customer.id, card(kleline, ada_customer.id), 2500)
    fund(kleline, ada_customer.id, card(kleline, ada_customer.id, "5555555555554444"), 2500)
    ada = token(client, "ada@example.org")
    device = SoftAuthenticator(ORIGIN)
    register(client, ada, device, "Phone")
    paying = payment(kleline, shop(kleline), 4500)

    asked = client.post(f"/v1/payments/{paying.id}/confirm", json={"method": "purse"}, headers=ada)
    assert asked.json()["status"] == "requires_action", asked.text
    challenge_id = asked.json()["next_action"]["challenge_id"]
    problem(
        client.post("/v1/wallet/passkeys/assertions", json={"challenge_id": "sca_nope"}, headers=ada),
        404,
        "sca_challenge_not_found",
    )
    ceremony = client.post("/v1/wallet/passkeys/assertions", json={"challenge_id": challenge_id}, headers=ada)
    assert ceremony.status_code == 201, ceremony.text
    answer = json.loads(device.get(json.dumps(ceremony.json()["options"])))
    body = {"method": "purse", "passkey": {"ceremony_id": ceremony.json()["ceremony_id"], "credential": answer}}
    paid = client.post(f"/v1/payments/{paying.id}/confirm", json=body, headers=ada)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "succeeded"
