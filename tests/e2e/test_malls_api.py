"""Malls over HTTP: operators create them and place merchants; anyone reads the directory, which shows only
active merchants."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline

from .http import bearer, problem
from .test_merchants_api import customer_token, operator_key, register


@pytest.fixture
def operator(kleline: Kleline) -> dict[str, str]:
    return bearer(operator_key(kleline))


def create_mall(client: TestClient, operator: dict[str, str], name: str, slug: str) -> dict[str, Any]:
    response = client.post("/v1/malls", json={"name": name, "slug": slug}, headers=operator)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_operator_opens_an_empty_mall(client: TestClient, operator: dict[str, str]) -> None:
    mall = create_mall(client, operator, "Galerie du Bac", "galerie-du-bac")
    assert mall["id"].startswith("mall_")
    assert {k: mall[k] for k in ("name", "slug", "merchant_ids", "merchants")} == {
        "name": "Galerie du Bac",
        "slug": "galerie-du-bac",
        "merchant_ids": [],
        "merchants": [],
    }
    assert client.get(f"/v1/malls/{mall['id']}").json() == mall


def test_a_slug_is_unique_and_well_formed(client: TestClient, operator: dict[str, str]) -> None:
    create_mall(client, operator, "Galerie du Bac", "galerie-du-bac")
    again = client.post("/v1/malls", json={"name": "Other", "slug": "galerie-du-bac"}, headers=operator)
    assert problem(again, 409, "slug_taken")["param"] == "slug"
    for body, param in (
        ({"name": "Galerie", "slug": "Galerie du Bac"}, "slug"),
        ({"name": "Galerie", "slug": "galerie_du_bac"}, "slug"),
        ({"name": "Galerie"}, "slug"),
        ({"name": " ", "slug": "galerie"}, "name"),
    ):
        assert problem(client.post("/v1/malls", json=body, headers=operator), 400, "validation_error")["param"] == param


def test_the_public_directory_shows_only_active_merchants(client: TestClient, operator: dict[str, str]) -> None:
    mall = create_mall(client, operator, "Galerie du Bac", "galerie-du-bac")
    shop = register(
        client, website="https://librairie-du-bac.fr", category="books", description="Books, new and second-hand"
    )
    added = client.post(f"/v1/malls/{mall['id']}/merchants", json={"merchant_id": shop["id"]}, headers=operator)
    assert added.status_code == 200, added.text
    assert added.json()["merchant_ids"] == [shop["id"]]  # the operator sees it, pending as it is
    assert added.json()["merchants"][0]["status"] == "pending"
    public = client.get(f"/v1/malls/{mall['id']}").json()
    assert (public["merchant_ids"], public["merchants"]) == ([], [])

    client.post(f"/v1/merchants/{shop['id']}/approve", headers=operator)
    public = client.get(f"/v1/malls/{mall['id']}").json()
    assert public["merchant_ids"] == [shop["id"]]
    assert public["merchants"] == [
        {
            "id": shop["id"],
            "name": "Librairie du Bac SARL",
            "website": "https://librairie-du-bac.fr",
            "category": "books",
            "description": "Books, new and second-hand",
            "status": "active",
        }
    ]
    assert "iban" not in str(public) and "email" not in str(public)
    assert client.get(f"/v1/merchants/{shop['id']}", headers=operator).json()["mall_ids"] == [mall["id"]]

    client.post(f"/v1/merchants/{shop['id']}/suspend", headers=operator)
    assert client.get(f"/v1/malls/{mall['id']}").json()["merchants"] == []
    assert client.get(f"/v1/malls/{mall['id']}", headers=operator).json()["merchant_ids"] == [shop["id"]]


def test_a_merchant_registers_into_malls(client: TestClient, operator: dict[str, str]) -> None:
    first = create_mall(client, operator, "Galerie du Bac", "galerie-du-bac")
    second = create_mall(client, operator, "Passage des Arts", "passage-des-arts")
    shop = register(client, mall_ids=[first["id"], second["id"]])
    assert shop["mall_ids"] == sorted([first["id"], second["id"]])
    for mall in (first, second):
        assert client.get(f"/v1/malls/{mall['id']}", headers=operator).json()["merchant_ids"] == [shop["id"]]


def test_placing_a_merchant_twice_changes_nothing_and_it_can_be_taken_out(
    client: TestClient, operator: dict[str, str]
) -> None:
    mall = create_mall(client, operator, "Galerie du Bac", "galerie-du-bac")
    shop = register(client)
    url = f"/v1/malls/{mall['id']}/merchants"
    for _ in range(2):
        assert client.post(url, json={"merchant_id": shop["id"]}, headers=operator).json()["merchant_ids"] == [
            shop["id"]
        ]
    removed = client.delete(f"{url}/{shop['id']}", headers=operator)
    assert removed.status_code == 200 and removed.json()["merchant_ids"] == []


def test_unknown_malls_and_merchants(client: TestClient, operator: dict[str, str]) -> None:
    mall = create_mall(client, operator, "Galerie du Bac", "galerie-du-bac")
    problem(client.get("/v1/malls/mall_unknown"), 404, "not_found")
    shop = register(client)
    response = client.post("/v1/malls/mall_unknown/merchants", json={"merchant_id": shop["id"]}, headers=operator)
    problem(response, 404, "not_found")
    response = client.post(f"/v1/malls/{mall['id']}/merchants", json={"merchant_id": "mer_unknown"}, headers=operator)
    assert problem(response, 400, "validation_error")["param"] == "merchant_id"
    response = client.post(f"/v1/malls/{mall['id']}/merchants", json={}, headers=operator)
    assert problem(response, 400, "validation_error")["param"] == "merchant_id"


def test_the_directory_lists_malls_in_slug_order_page_by_page(client: TestClient, operator: dict[str, str]) -> None:
    ids = {slug: create_mall(client, operator, slug.title(), slug)["id"] for slug in ("c-mall", "a-mall", "b-mall")}
    first = client.get("/v1/malls", params={"limit": 2}).json()
    assert ([m["slug"] for m in first["data"]], first["has_more"]) == (["a-mall", "b-mall"], True)
    rest = client.get("/v1/malls", params={"limit": 2, "starting_after": ids["b-mall"]}).json()
    assert ([m["slug"] for m in rest["data"]], rest["has_more"]) == (["c-mall"], False)
    problem(client.get("/v1/malls", params={"starting_after": "mall_unknown"}), 400, "validation_error")
    assert problem(client.get("/v1/malls", params={"limit": 0}), 400, "validation_error")["param"] == "limit"


def test_only_operators_curate_malls_and_anyone_reads_them(
    client: TestClient, kleline: Kleline, operator: dict[str, str]
) -> None:
    mall = create_mall(client, operator, "Galerie du Bac", "galerie-du-bac")
    shop = register(client)
    callers = {
        "nobody": ({}, 401, "unauthorized"),
        "customer": (bearer(customer_token(client)), 403, "forbidden"),
        "merchant": (bearer(shop["secret_key"]), 403, "forbidden"),
    }
    for who, (headers, status, code) in callers.items():
        response = client.post("/v1/malls", json={"name": "Mine", "slug": "mine"}, headers=headers)
        assert problem(response, status, code), who
        response = client.post(f"/v1/malls/{mall['id']}/merchants", json={"merchant_id": shop["id"]}, headers=headers)
        problem(response, status, code)
        problem(client.delete(f"/v1/malls/{mall['id']}/merchants/{shop['id']}", headers=headers), status, code)
        assert client.get("/v1/malls", headers=headers).status_code == 200
        assert client.get(f"/v1/malls/{mall['id']}", headers=headers).json()["merchant_ids"] == []
    problem(client.get("/v1/malls", headers=bearer("op_revoked_or_forged")), 401, "unauthorized")
    assert client.get("/v1/malls", headers=operator).status_code == 200
