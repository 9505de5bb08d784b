"""An application's review over HTTP: any operator role reads it, a merchant's key is refused, an unknown merchant is
a 404, and the checks name another merchant paid into the same account."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline
from kleline.staff.roles import Role

from ..operator_keys import operator_key
from .http import bearer, problem

IBAN = "FR1420041010050500013M02606"
SIRET = "73282932000074"
VAT_NUMBER = "FR44732829320"


def register(client: TestClient, name: str) -> dict[str, str]:
    body = {
        "name": name,
        "email": "contact@librairie-du-bac.fr",
        "iban": IBAN,
        "siret": SIRET,
        "vat_number": VAT_NUMBER,
    }
    response = client.post("/v1/merchants", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, str] = response.json()
    return created


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.COMPLIANCE, None])
def test_an_operator_reads_the_review_with_the_merchant_sharing_its_account(
    client: TestClient, kleline: Kleline, role: Role | None
) -> None:
    first = register(client, "Librairie du Bac")
    second = register(client, "Le Bac à Livres")
    operator = bearer(operator_key(kleline.db, role, "review"))
    response = client.get(f"/v1/merchants/{second['id']}/review", headers=operator)
    assert response.status_code == 200, response.text
    review = response.json()
    assert (review["status"], review["clear"]) == ("pending", False)
    same_iban = next(check for check in review["checks"] if check["name"] == "same_iban")
    assert (same_iban["passed"], same_iban["merchant_ids"]) == (False, [first["id"]])
    assert [check["passed"] for check in review["checks"] if check["name"] in ("iban", "siret", "vat_number")] == [
        True,
        True,
        True,
    ]


def test_a_merchant_key_is_refused_and_an_unknown_merchant_is_not_found(client: TestClient, kleline: Kleline) -> None:
    shop = register(client, "Librairie du Bac")
    refused = client.get(f"/v1/merchants/{shop['id']}/review", headers=bearer(shop["secret_key"]))
    assert problem(refused, 403, "forbidden")
    operator = bearer(operator_key(kleline.db, Role.SUPPORT, "review"))
    assert problem(client.get("/v1/merchants/mer_unknown/review", headers=operator), 404, "not_found")
