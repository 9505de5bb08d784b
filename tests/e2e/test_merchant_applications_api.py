"""Merchants' applications over HTTP: a VAT number and a contact at registration, an operator's refusal with its
reason and a suspension's, what the merchant reads of them, who may refuse, retries with an Idempotency-Key, and the
OpenAPI document that says so."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline

from ..integration.helpers import count_rows
from ..operator_keys import operator_key
from .http import bearer, problem

IBAN = "FR1420041010050500013M02606"
SIRET = "73282932000074"
VAT_NUMBER = "FR44732829320"
PASSWORD = "correct horse battery staple"


def shop(**fields: Any) -> dict[str, Any]:
    return {"name": "Librairie du Bac SARL", "email": "contact@librairie-du-bac.fr", "iban": IBAN} | fields


def register(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/merchants", json=shop(**fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def operator(kleline: Kleline) -> dict[str, str]:
    return bearer(operator_key(kleline.db))


def test_a_shop_registers_its_vat_number_and_contact(client: TestClient, operator: dict[str, str]) -> None:
    body = register(
        client, siret=SIRET, vat_number="fr 44 732 829 320", contact_name="Ada Martin", contact_phone="01 23 45 67 89"
    )
    assert (body["vat_number"], body["contact_name"], body["contact_phone"]) == (
        VAT_NUMBER,
        "Ada Martin",
        "+33123456789",
    )
    assert (body["status"], body["status_reason"]) == ("pending", None)
    assert body["secret_key"].startswith("sk_")  # the API's registration still hands its first key over
    seen = client.get(f"/v1/merchants/{body['id']}", headers=bearer(body["secret_key"])).json()
    assert (seen["vat_number"], seen["contact_phone"]) == (VAT_NUMBER, "+33123456789")
    old_client = register(client, email="old@example.org")  # the fields are optional: older clients still register
    assert (old_client["vat_number"], old_client["contact_name"], old_client["contact_phone"]) == (None, None, None)


@pytest.mark.parametrize(
    ("fields", "code", "param"),
    [
        ({"vat_number": "FR45732829320"}, "invalid_vat_number", "vat_number"),
        ({"siret": SIRET, "vat_number": "FR40303265045"}, "invalid_vat_number", "vat_number"),
        ({"vat_number": "44732829320"}, "invalid_vat_number", "vat_number"),
        ({"contact_phone": "12 34 56"}, "validation_error", "contact_phone"),
        ({"contact_name": " "}, None, None),
        ({"contact_phone": "+33 1 23 45 67"}, "validation_error", "contact_phone"),
    ],
)
def test_a_wrong_vat_number_or_phone_is_refused_naming_its_field_and_leaves_nothing(
    client: TestClient, kleline: Kleline, fields: dict[str, str], code: str | None, param: str | None
) -> None:
    response = client.post("/v1/merchants", json=shop(**fields))
    if code is None:  # a blank optional field is no contact at all
        assert response.status_code == 201 and response.json()["contact_name"] is None
        return
    body = problem(response, 400, code)
    assert body["param"] == param
    if fields.get("vat_number") == "FR40303265045":  # another company's than the SIRET's: its own is told
        assert body["siret_vat_number"] == VAT_NUMBER
    assert [count_rows(kleline.db, table) for table in ("merchants", "merchant_keys")] == [0, 0]


def test_an_operator_refuses_an_application_and_the_merchant_reads_why(
    client: TestClient, kleline: Kleline, operator: dict[str, str]
) -> None:
    body = register(client)
    url = f"/v1/merchants/{body['id']}"
    reason = "The SIRET belongs to a company that ceased trading: send us your new one"
    refused = client.post(f"{url}/refuse", json={"reason": reason}, headers=operator)
    assert refused.status_code == 200, refused.text
    assert (refused.json()["status"], refused.json()["status_reason"]) == ("refused", reason)
    seen = client.get(url, headers=bearer(body["secret_key"])).json()
    assert (seen["status"], seen["status_reason"]) == ("refused", reason)
    payment = client.post("/v1/payments", json={"amount": 1250, "currency": "EUR"}, headers=bearer(body["secret_key"]))
    assert problem(payment, 403, "merchant_not_active")["merchant_status"] == "refused"
    listed = client.get("/v1/merchants?status=refused", headers=operator).json()["data"]
    assert [merchant["id"] for merchant in listed] == [body["id"]]
    again = problem(
        client.post(f"{url}/refuse", json={"reason": reason}, headers=operator), 409, "invalid_status_transition"
    )
    assert again["merchant_status"] == "refused"
    approved = client.post(f"{url}/approve", headers=operator).json()  # an operator who reconsiders
    assert (approved["status"], approved["status_reason"]) == ("active", None)


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": 12}])
def test_a_refusal_without_a_reason_is_refused_and_changes_nothing(
    client: TestClient, operator: dict[str, str], body: dict[str, Any]
) -> None:
    merchant = register(client)
    url = f"/v1/merchants/{merchant['id']}"
    assert (
        problem(client.post(f"{url}/refuse", json=body, headers=operator), 400, "validation_error")["param"] == "reason"
    )
    assert client.get(url, headers=operator).json()["status"] == "pending"


def test_a_suspension_may_say_why_and_a_new_approval_clears_it(client: TestClient, operator: dict[str, str]) -> None:
    merchant = register(client)
    url = f"/v1/merchants/{merchant['id']}"
    client.post(f"{url}/approve", headers=operator)
    reason = "Unusual refund rate: we are looking into it"
    suspended = client.post(f"{url}/suspend", json={"reason": reason}, headers=operator).json()
    assert (suspended["status"], suspended["status_reason"]) == ("suspended", reason)
    assert client.get(url, headers=bearer(merchant["secret_key"])).json()["status_reason"] == reason
    assert client.post(f"{url}/approve", headers=operator).json()["status_reason"] is None
    without = client.post(f"{url}/suspend", headers=operator)  # no body, as before reasons existed
    assert (without.status_code, without.json()["status_reason"]) == (200, None)
    client.post(f"{url}/approve", headers=operator)
    too_long = client.post(f"{url}/suspend", json={"reason": "x" * 501}, headers=operator)
    assert problem(too_long, 400, "validation_error")["param"] == "reason"


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [("nobody", 401, "unauthorized"), ("customer", 403, "forbidden"), ("merchant", 403, "forbidden")],
)
def test_only_an_operator_may_refuse(
    client: TestClient, operator: dict[str, str], who: str, status: int, code: str
) -> None:
    merchant = register(client)
    headers: dict[str, str] = {}
    if who == "merchant":
        headers = bearer(merchant["secret_key"])
    elif who == "customer":
        client.post("/v1/customers", json={"email": "ada@example.org", "password": PASSWORD, "name": "Ada"})
        token = client.post("/v1/auth/token", json={"email": "ada@example.org", "password": PASSWORD}).json()["token"]
        headers = bearer(token)
    url = f"/v1/merchants/{merchant['id']}/refuse"
    problem(client.post(url, json={"reason": "No"}, headers=headers), status, code)
    assert client.get(f"/v1/merchants/{merchant['id']}", headers=operator).json()["status"] == "pending"
    problem(client.post("/v1/merchants/mer_unknown/refuse", json={"reason": "No"}, headers=operator), 404, "not_found")


def test_a_refusal_retried_with_its_idempotency_key_answers_the_same(
    client: TestClient, operator: dict[str, str]
) -> None:
    merchant = register(client)
    url = f"/v1/merchants/{merchant['id']}/refuse"
    headers = operator | {"Idempotency-Key": "refuse-librairie-1"}
    first = client.post(url, json={"reason": "No Kbis extract"}, headers=headers)
    again = client.post(url, json={"reason": "No Kbis extract"}, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    other = client.post(url, json={"reason": "Another reason"}, headers=headers)
    problem(other, 409, "idempotency_key_reused")


def test_the_openapi_document_describes_refusals_reasons_and_the_new_fields(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    refuse = document["paths"]["/v1/merchants/{merchant_id}/refuse"]["post"]
    assert refuse["requestBody"]["required"] is True
    assert {"200", "400", "401", "403", "404", "409"} <= set(refuse["responses"])
    assert "invalid_status_transition" in refuse["responses"]["409"]["description"]
    suspend = document["paths"]["/v1/merchants/{merchant_id}/suspend"]["post"]
    assert suspend["requestBody"].get("required") is not True
    schemas = document["components"]["schemas"]
    assert schemas["RefusalIn"]["required"] == ["reason"]
    assert {"vat_number", "contact_name", "contact_phone"} <= set(schemas["MerchantIn"]["properties"])
    out = schemas["MerchantOut"]["properties"]
    assert "refused" in out["status"]["enum"] and "status_reason" in out
