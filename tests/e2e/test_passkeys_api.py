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


def test_a_top_up_above_the_exemption_is_made_with_a_passkey_once_per_idempotency_key(
    kleline: Kleline, client: TestClient
) -> None:
    ada_customer = customer(kleline)
    card_id = card(kleline, ada_customer.id)
    ada = token(client, "ada@example.org")
    device = SoftAuthenticator(ORIGIN)
    register(client, ada, device, "Phone")
    body: dict[str, object] = {"amount": 5000, "currency": "EUR", "card_id": card_id}

    asked = client.post("/v1/wallet/top-ups", json=body, headers=ada)
    assert asked.status_code == 201 and asked.json()["status"] == "requires_action", asked.text
    challenge_id = asked.json()["next_action"]["challenge_id"]

    def answer(origin: str | None = None) -> dict[str, object]:
        ceremony = client.post("/v1/wallet/passkeys/assertions", json={"challenge_id": challenge_id}, headers=ada)
        assert ceremony.status_code == 201, ceremony.text
        credential = json.loads(device.get(json.dumps(ceremony.json()["options"]), origin=origin))
        return {"ceremony_id": ceremony.json()["ceremony_id"], "credential": credential}

    alone = client.post("/v1/wallet/top-ups", json=body | {"passkey": answer()}, headers=ada)
    assert problem(alone, 400, "validation_error")["param"] == "challenge_id"  # a passkey answers a challenge
    forged = body | {"challenge_id": challenge_id, "passkey": answer("https://evil.example")}
    refused = problem(client.post("/v1/wallet/top-ups", json=forged, headers=ada), 400, "passkey_response_invalid")
    assert refused["param"] == "credential"

    passed = body | {"challenge_id": challenge_id, "passkey": answer()}
    once = ada | {"Idempotency-Key": "top-up-50-with-a-passkey"}
    done = client.post("/v1/wallet/top-ups", json=passed, headers=once)
    assert done.status_code == 201, done.text
    assert (done.json()["status"], done.json()["amount"], done.json()["next_action"]) == ("succeeded", 5000, None)
    again = client.post("/v1/wallet/top-ups", json=passed, headers=once)
    assert (again.status_code, again.json()) == (201, done.json())  # the first answer, not a second top-up
    problem(client.post("/v1/wallet/top-ups", json=passed, headers=ada), 404, "passkey_ceremony_not_found")
    assert client.get("/v1/wallet", headers=ada).json()["purse"]["balance"] == 5000


def test_the_top_up_schema_documents_the_passkey_answer(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schema = document["components"]["schemas"]["TopUpIn"]
    assert "passkey" in schema["properties"] and "/v1/wallet/passkeys/assertions" in schema["description"]
    responses = document["paths"]["/v1/wallet/top-ups"]["post"]["responses"]
    assert "passkey_response_invalid" in responses["400"]["description"]
    assert "passkey_ceremony_not_found" in responses["404"]["description"]
    assert "passkey_ceremony_expired" in responses["410"]["description"]
