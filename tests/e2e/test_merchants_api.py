"""Merchants over HTTP: registration with checked bank details, approval, suspension, secret keys, and who may
call what (operator, the merchant itself, another merchant, a customer, nobody)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline
from kleline.ledger import NormalSide
from kleline.merchants import MerchantNotActive

from ..conftest import FakeClock
from ..integration.helpers import count_rows
from ..operator_keys import operator_key as new_operator_key
from .http import bearer, problem

LA_BANQUE_POSTALE = "FR1420041010050500013M02606"
SIRET = "73282932000074"
PASSWORD = "correct horse battery staple"


def shop(**fields: Any) -> dict[str, Any]:
    """A registration body for a bookshop banking at La Banque Postale."""
    return {"name": "Librairie du Bac SARL", "email": "contact@librairie-du-bac.fr", "iban": LA_BANQUE_POSTALE} | fields


def register(client: TestClient, headers: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    """Register a shop and return the answer (with its first secret key)."""
    response = client.post("/v1/merchants", json=shop(**fields), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def operator_key(kleline: Kleline) -> str:
    return new_operator_key(kleline.db)


def customer_token(client: TestClient, email: str = "ada@example.org") -> str:
    response = client.post("/v1/customers", json={"email": email, "password": PASSWORD, "name": "Ada"})
    assert response.status_code == 201, response.text
    token: str = client.post("/v1/auth/token", json={"email": email, "password": PASSWORD}).json()["token"]
    return token


@dataclass
class Parties:
    """Everyone who may knock: an operator, merchant A (the object of the calls), merchant B, a customer."""

    operator: str
    merchant_id: str
    merchant: str
    other_merchant_id: str
    other_merchant: str
    customer: str

    def headers(self, who: str) -> dict[str, str]:
        return {} if who == "nobody" else bearer(getattr(self, who))


@pytest.fixture
def parties(client: TestClient, kleline: Kleline) -> Parties:
    mine = register(client)
    theirs = register(client, name="Autre Boutique", email="autre@example.org")
    return Parties(
        operator_key(kleline),
        mine["id"],
        mine["secret_key"],
        theirs["id"],
        theirs["secret_key"],
        customer_token(client),
    )


# -- registration --------------------------------------------------------------------------------------------------


def test_anyone_may_register_a_shop_which_waits_for_approval_with_its_first_key(client: TestClient) -> None:
    body = register(
        client,
        siret="732 829 320 00074",
        website="https://librairie-du-bac.fr",
        category="Books",
        email="Contact@Librairie-du-Bac.fr",
    )
    assert body["id"].startswith("mer_")
    assert body["status"] == "pending"
    assert body["fee_bps"] == 350
    assert body["bic"] == "PSSTFRPP"  # derived from the IBAN: La Banque Postale
    assert body["siret"] == SIRET
    assert body["category"] == "books"
    assert body["email"] == "contact@librairie-du-bac.fr"
    assert body["iban"] == "FR*********************2606"
    assert body["iban_last4"] == "2606"
    assert body["mall_ids"] == []
    assert body["created_at"] == "2026-01-15T09:30:00.000000Z"
    assert body["secret_key"].startswith("sk_")
    mine = client.get(f"/v1/merchants/{body['id']}", headers=bearer(body["secret_key"]))
    assert mine.status_code == 200
    assert mine.json() == {k: v for k, v in body.items() if k != "secret_key"}


def test_the_operator_sees_the_full_iban_the_merchant_a_masked_one(client: TestClient, parties: Parties) -> None:
    url = f"/v1/merchants/{parties.merchant_id}"
    assert client.get(url, headers=bearer(parties.operator)).json()["iban"] == LA_BANQUE_POSTALE
    assert client.get(url, headers=bearer(parties.merchant)).json()["iban"] == "FR*********************2606"


def test_a_given_bic_is_kept(client: TestClient) -> None:
    assert register(client, bic="psstfrpppar")["bic"] == "PSSTFRPPPAR"


@pytest.mark.parametrize(
    ("fields", "status", "code", "param"),
    [
        ({"iban": "FR1420041010050500013M02607"}, 400, "invalid_iban", "iban"),
        ({"iban": "FR8420041010050500013M02607"}, 400, "invalid_iban", "iban"),  # wrong RIB key
        ({"iban": "BR1800360305000010009795493C1"}, 400, "invalid_iban", "iban"),  # outside SEPA
        ({"bic": "PSSTFRP"}, 400, "invalid_bic", "bic"),
        ({"bic": "COBADEFFXXX"}, 400, "invalid_bic", "bic"),  # a German bank for a French IBAN
        ({"iban": "GB82WEST12345698765432"}, 400, "invalid_bic", "bic"),  # bank unknown to the registry: give it
        ({"siret": "73282932000075"}, 400, "invalid_siret", "siret"),
        ({"siret": "7328293200007"}, 400, "invalid_siret", "siret"),
        ({"email": "not an email"}, 400, "validation_error", "email"),
        ({"website": "ftp://librairie-du-bac.fr"}, 400, "validation_error", "website"),
        ({"category": "books & more"}, 400, "validation_error", "category"),
        ({"description": "x" * 501}, 400, "validation_error", "description"),
        ({"description": "Books\x00"}, 400, "validation_error", "description"),
        ({"name": "  "}, 400, "validation_error", "name"),
        ({"name": None}, 400, "validation_error", "name"),
        ({"iban": None}, 400, "validation_error", "iban"),
        ({"mall_ids": ["mall_nowhere"]}, 400, "validation_error", "mall_ids"),
        ({"mall_ids": "mall_1"}, 400, "validation_error", "mall_ids"),
        ({"fee_bps": 320}, 403, "forbidden", "fee_bps"),  # only operators set the commission
    ],
)
def test_a_wrong_registration_is_refused_names_the_field_and_writes_nothing(
    client: TestClient, kleline: Kleline, fields: dict[str, Any], status: int, code: str, param: str
) -> None:
    body = {k: v for k, v in shop(**fields).items() if v is not None}
    assert problem(client.post("/v1/merchants", json=body), status, code)["param"] == param
    assert count_rows(kleline.db, "merchants") == count_rows(kleline.db, "merchant_keys") == 0


def test_an_operator_may_register_a_merchant_with_its_commission(client: TestClient, kleline: Kleline) -> None:
    operator = bearer(operator_key(kleline))
    body = register(client, headers=operator, fee_bps=320)
    assert (body["fee_bps"], body["status"], body["iban"]) == (320, "pending", LA_BANQUE_POSTALE)
    for fee_bps in (299, 401):
        response = client.post("/v1/merchants", json=shop(fee_bps=fee_bps), headers=operator)
        assert problem(response, 400, "validation_error")["param"] == "fee_bps"
    assert problem(client.post("/v1/merchants", json=shop(fee_bps="350"), headers=operator), 400, "validation_error")


def test_a_merchant_or_customer_key_registers_like_anybody_and_may_not_set_the_commission(
    client: TestClient, parties: Parties
) -> None:
    for who in ("merchant", "customer"):
        assert register(client, headers=parties.headers(who))["fee_bps"] == 350
        response = client.post("/v1/merchants", json=shop(fee_bps=300), headers=parties.headers(who))
        problem(response, 403, "forbidden")


def test_a_dead_operator_key_is_refused_even_where_anybody_may_call(client: TestClient) -> None:
    problem(client.post("/v1/merchants", json=shop(), headers=bearer("op_forged")), 401, "unauthorized")


# -- approval and suspension ---------------------------------------------------------------------------------------


def test_approval_suspension_and_reactivation(client: TestClient, kleline: Kleline, parties: Parties) -> None:
    operator = bearer(parties.operator)
    url = f"/v1/merchants/{parties.merchant_id}"
    refused = problem(client.post(f"{url}/suspend", headers=operator), 409, "invalid_status_transition")
    assert refused["merchant_status"] == "pending"
    assert client.post(f"{url}/approve", headers=operator).json()["status"] == "active"
    account = kleline.ledger.account(f"merchant:{parties.merchant_id}:balance")
    assert (account.currency, account.normal_side, account.floor) == ("EUR", NormalSide.CREDIT, 0)
    assert (
        problem(client.post(f"{url}/approve", headers=operator), 409, "invalid_status_transition")["merchant_status"]
        == "active"
    )
    assert client.post(f"{url}/suspend", headers=operator).json()["status"] == "suspended"
    # A suspended merchant still reads its own data, but may not take payments.
    assert client.get(url, headers=bearer(parties.merchant)).json()["status"] == "suspended"
    with pytest.raises(MerchantNotActive, match="suspended"):
        kleline.merchants.require_active(parties.merchant_id)
    assert client.post(f"{url}/approve", headers=operator).json()["status"] == "active"
    problem(client.post("/v1/merchants/mer_unknown/approve", headers=operator), 404, "not_found")


def test_the_approval_date_is_the_first_approval_and_a_suspension_keeps_it(
    client: TestClient, parties: Parties, clock: FakeClock
) -> None:
    operator = bearer(parties.operator)
    url = f"/v1/merchants/{parties.merchant_id}"
    assert client.get(url, headers=operator).json()["approved_at"] is None
    clock.advance(days=2)
    approved = client.post(f"{url}/approve", headers=operator).json()["approved_at"]
    assert approved == "2026-01-17T09:30:00.000000Z"
    clock.advance(days=30)
    assert client.post(f"{url}/suspend", headers=operator).json()["approved_at"] == approved
    clock.advance(days=1)
    assert client.post(f"{url}/approve", headers=operator).json()["approved_at"] == approved
    assert client.get(url, headers=bearer(parties.merchant)).json()["approved_at"] == approved


# -- the shop's profile (what the malls show) ---------------------------------------------------------------------


def test_a_shop_says_what_it_sells_at_registration_and_changes_it_later(client: TestClient, parties: Parties) -> None:
    body = register(client, description="  Books,\n new and   second-hand ", email="livres@example.org")
    assert body["description"] == "Books, new and second-hand"  # one line, as the malls' pages show it
    url = f"/v1/merchants/{parties.merchant_id}"
    changed = client.patch(url, json={"description": "Rare books"}, headers=bearer(parties.merchant))
    assert changed.status_code == 200, changed.text
    assert (changed.json()["description"], changed.json()["website"]) == ("Rare books", None)
    changed = client.patch(url, json={"website": "https://rare.example"}, headers=bearer(parties.operator))
    assert (changed.json()["description"], changed.json()["website"]) == ("Rare books", "https://rare.example")
    cleared = client.patch(url, json={"description": None}, headers=bearer(parties.merchant)).json()
    assert (cleared["description"], cleared["website"]) == (None, "https://rare.example")
    for wrong, param in (({"website": "javascript:alert(1)"}, "website"), ({"description": "x" * 501}, "description")):
        assert (
            problem(client.patch(url, json=wrong, headers=bearer(parties.merchant)), 400, "validation_error")["param"]
            == param
        )
    assert client.get(url, headers=bearer(parties.merchant)).json()["website"] == "https://rare.example"
    for who, status, code in (
        ("nobody", 401, "unauthorized"),
        ("customer", 403, "forbidden"),
        ("other_merchant", 404, "not_found"),
    ):
        problem(client.patch(url, json={"description": "Mine now"}, headers=parties.headers(who)), status, code)
    assert client.get(url, headers=bearer(parties.merchant)).json()["description"] is None


# -- keys ----------------------------------------------------------------------------------------------------------


def test_keys_are_shown_once_listed_without_secret_and_revocable(
    client: TestClient, parties: Parties, clock: FakeClock
) -> None:
    url = f"/v1/merchants/{parties.merchant_id}"
    clock.advance(seconds=1)
    created = client.post(f"{url}/keys", headers=bearer(parties.merchant))
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["id"].startswith("key_") and new["secret_key"].startswith("sk_")
    assert new["last4"] == new["secret_key"][-4:] and new["revoked_at"] is None
    listed = client.get(f"{url}/keys", headers=bearer(parties.operator)).json()
    assert [k["id"] for k in listed["data"]][0] == new["id"] and len(listed["data"]) == 2
    assert "secret" not in str(listed) and parties.merchant not in str(listed)
    first_id = listed["data"][1]["id"]
    assert client.delete(f"{url}/keys/{first_id}", headers=bearer(new["secret_key"])).status_code == 204
    problem(client.get(url, headers=bearer(parties.merchant)), 401, "unauthorized")
    assert client.get(url, headers=bearer(new["secret_key"])).status_code == 200
    problem(client.delete(f"{url}/keys/key_unknown", headers=bearer(new["secret_key"])), 404, "not_found")


def test_a_merchant_may_not_touch_another_merchants_keys(client: TestClient, parties: Parties) -> None:
    mine = client.get(f"/v1/merchants/{parties.merchant_id}/keys", headers=bearer(parties.merchant)).json()
    key_id = mine["data"][0]["id"]
    # B names A's key under its own id: no such key of B's, and A's key still works.
    url = f"/v1/merchants/{parties.other_merchant_id}/keys/{key_id}"
    problem(client.delete(url, headers=bearer(parties.other_merchant)), 404, "not_found")
    assert client.get(f"/v1/merchants/{parties.merchant_id}", headers=bearer(parties.merchant)).status_code == 200


# -- listing -------------------------------------------------------------------------------------------------------


def test_operators_list_merchants_newest_first_page_by_page(
    client: TestClient, kleline: Kleline, clock: FakeClock
) -> None:
    operator = bearer(operator_key(kleline))
    ids = []
    for index in range(3):
        ids.append(register(client, name=f"Boutique {index}")["id"])
        clock.advance(seconds=1)
    first = client.get("/v1/merchants", params={"limit": 2}, headers=operator).json()
    assert ([m["id"] for m in first["data"]], first["has_more"]) == ([ids[2], ids[1]], True)
    assert first["data"][0]["iban"] == LA_BANQUE_POSTALE
    rest = client.get("/v1/merchants", params={"limit": 2, "starting_after": ids[1]}, headers=operator).json()
    assert ([m["id"] for m in rest["data"]], rest["has_more"]) == ([ids[0]], False)
    client.post(f"/v1/merchants/{ids[0]}/approve", headers=operator)
    active = client.get("/v1/merchants", params={"status": "active"}, headers=operator).json()
    assert [m["id"] for m in active["data"]] == [ids[0]]
    for params, param in (
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"starting_after": "mer_unknown"}, "starting_after"),
        ({"status": "closed"}, "status"),
    ):
        assert (
            problem(client.get("/v1/merchants", params=params, headers=operator), 400, "validation_error")["param"]
            == param
        )


# -- who may call what ---------------------------------------------------------------------------------------------

CALLERS = ("nobody", "customer", "other_merchant", "merchant", "operator")


def check_matrix(client: TestClient, parties: Parties, method: str, url: str, expected: dict[str, int]) -> None:
    """Each caller in turn (the operator last: its call may change the state); a refusal is a problem document."""
    for who in CALLERS:
        response = client.request(method, url.format(id=parties.merchant_id), headers=parties.headers(who))
        assert response.status_code == expected[who], f"{who} {method} {url}: {response.text}"
        if expected[who] >= 400:
            code = {401: "unauthorized", 403: "forbidden", 404: "not_found"}[expected[who]]
            problem(response, expected[who], code)


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        ("GET", "/v1/merchants/{id}", {"merchant": 200, "operator": 200, "other_merchant": 404}),
        ("GET", "/v1/merchants", {"merchant": 403, "operator": 200, "other_merchant": 403}),
        ("POST", "/v1/merchants/{id}/approve", {"merchant": 403, "operator": 200, "other_merchant": 403}),
        ("POST", "/v1/merchants/{id}/keys", {"merchant": 201, "operator": 201, "other_merchant": 404}),
        ("GET", "/v1/merchants/{id}/keys", {"merchant": 200, "operator": 200, "other_merchant": 404}),
    ],
)
def test_only_the_right_party_may_call(
    client: TestClient, parties: Parties, method: str, url: str, expected: dict[str, int]
) -> None:
    check_matrix(client, parties, method, url, {"nobody": 401, "customer": 403} | expected)


def test_only_an_operator_may_suspend(client: TestClient, parties: Parties) -> None:
    client.post(f"/v1/merchants/{parties.merchant_id}/approve", headers=bearer(parties.operator))
    expected = {"nobody": 401, "customer": 403, "other_merchant": 403, "merchant": 403, "operator": 200}
    check_matrix(client, parties, "POST", "/v1/merchants/{id}/suspend", expected)


def test_only_the_merchant_or_an_operator_may_revoke_its_keys(client: TestClient, parties: Parties) -> None:
    url = f"/v1/merchants/{parties.merchant_id}/keys"
    spare = [client.post(url, headers=bearer(parties.operator)).json() for _ in range(2)]
    for who, status, code in (
        ("nobody", 401, "unauthorized"),
        ("customer", 403, "forbidden"),
        ("other_merchant", 404, "not_found"),
    ):
        problem(client.delete(f"{url}/{spare[0]['id']}", headers=parties.headers(who)), status, code)
    assert client.get(f"/v1/merchants/{parties.merchant_id}", headers=bearer(spare[0]["secret_key"])).status_code == 200
    for who, key in (("merchant", spare[0]), ("operator", spare[1])):
        assert client.delete(f"{url}/{key['id']}", headers=parties.headers(who)).status_code == 204
        problem(
            client.get(f"/v1/merchants/{parties.merchant_id}", headers=bearer(key["secret_key"])), 401, "unauthorized"
        )


def test_another_merchant_learns_nothing_about_whether_a_merchant_exists(client: TestClient, parties: Parties) -> None:
    other = parties.headers("other_merchant")
    existing = problem(client.get(f"/v1/merchants/{parties.merchant_id}", headers=other), 404, "not_found")
    missing = problem(client.get("/v1/merchants/mer_00000000000000000000000000000000", headers=other), 404, "not_found")
    assert existing.keys() == missing.keys()
    assert existing["detail"].replace(parties.merchant_id, "ID") == missing["detail"].replace(
        "mer_00000000000000000000000000000000", "ID"
    )
