"""Top-ups by SEPA direct debit over HTTP: a customer's bank account and mandate, the top-up, the operator's
collection run and its pain.008 file, returns and the customers who owe money; and who may do what."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline, open_system_accounts
from kleline.ledger.audit import trial_balance
from kleline.sepa import read_direct_debits, validate_pain

from ..operator_keys import OPERATOR, operator_key
from .http import bearer, problem

PASSWORD = "correct horse battery staple"
IBAN = "FR7630006000011234567890189"


class World:
    """An operator and a signed-in customer, Ada."""

    def __init__(self, client: TestClient, kleline: Kleline) -> None:
        self.client = client
        self.kleline = kleline
        open_system_accounts(kleline)
        self.operator = bearer(operator_key(kleline.db))
        self.customer_id, self.customer = self.sign_up("ada@example.org")

    def sign_up(self, email: str) -> tuple[str, dict[str, str]]:
        signed_up = self.client.post("/v1/customers", json={"email": email, "password": PASSWORD, "name": "Ada"})
        assert signed_up.status_code == 201, signed_up.text
        token = self.client.post("/v1/auth/token", json={"email": email, "password": PASSWORD}).json()["token"]
        return signed_up.json()["id"], bearer(token)

    def add_account(self, headers: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
        body = {"iban": IBAN, "holder_name": "Ada Lovelace", "mandate_accepted": True, **extra}
        response = self.client.post("/v1/wallet/bank-accounts", json=body, headers=headers or self.customer)
        assert response.status_code == 201, response.text
        account: dict[str, Any] = response.json()
        return account

    def top_up(self, amount: int, bank_account_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.client.post(
            "/v1/wallet/top-ups",
            json={"amount": amount, "currency": "EUR", "bank_account_id": bank_account_id},
            headers=headers or self.customer,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def merchant(self) -> dict[str, str]:
        """A new approved merchant's key."""
        created = self.client.post(
            "/v1/merchants",
            json={"name": "Librairie Kléber", "email": "shop@example.fr", "iban": "DE89370400440532013000"},
            headers=self.operator,
        )
        assert created.status_code == 201, created.text
        approved = self.client.post(f"/v1/merchants/{created.json()['id']}/approve", headers=self.operator)
        assert approved.status_code == 200, approved.text
        return bearer(created.json()["secret_key"])

    def spend(self, amount: int) -> None:
        """Ada pays a shop from her purse."""
        shop = self.merchant()
        payment = self.client.post("/v1/payments", json={"amount": amount, "currency": "EUR"}, headers=shop).json()
        paid = self.client.post(
            f"/v1/payments/{payment['id']}/confirm", json={"method": "purse"}, headers=self.customer
        )
        assert paid.json()["status"] == "succeeded", paid.text

    def purse(self) -> int:
        balance: int = self.client.get("/v1/wallet", headers=self.customer).json()["purse"]["balance"]
        return balance


@pytest.fixture
def world(client: TestClient, kleline: Kleline) -> World:
    return World(client, kleline)


def test_a_customer_registers_a_bank_account_and_signs_its_mandate(world: World) -> None:
    account = world.add_account()
    assert account["id"].startswith("ba_")
    assert (account["object"], account["iban"], account["bic"]) == (
        "bank_account",
        "FR76*******************0189",
        "AGRIFRPPXXX",
    )
    assert account["mandate"]["scheme"] == "CORE" and len(account["mandate"]["id"]) == 35
    assert account["mandate"]["signed_at"] == "2026-01-15T09:30:00.000000Z"
    listed = world.client.get("/v1/wallet/bank-accounts", headers=world.customer).json()
    assert listed == {"data": [account], "has_more": False}
    assert world.client.get(f"/v1/wallet/bank-accounts/{account['id']}", headers=world.customer).json() == account
    _, bob = world.sign_up("bob@example.org")
    problem(world.client.get(f"/v1/wallet/bank-accounts/{account['id']}", headers=bob), 404, "not_found")


@pytest.mark.parametrize(
    ("change", "status", "code", "param"),
    [
        ({"iban": "FR7630006000011234567890188"}, 400, "invalid_iban", "iban"),
        ({"bic": "DEUTDEFF"}, 400, "invalid_bic", "bic"),
        ({"mandate_accepted": False}, 400, "mandate_required", "mandate_accepted"),
        ({"mandate_accepted": "yes"}, 400, "validation_error", "mandate_accepted"),
        ({"holder_name": "x" * 71}, 400, "validation_error", "holder_name"),
    ],
)
def test_a_refused_bank_account_is_a_precise_problem_and_leaves_nothing(
    world: World, change: dict[str, Any], status: int, code: str, param: str
) -> None:
    body = {"iban": IBAN, "holder_name": "Ada Lovelace", "mandate_accepted": True, **change}
    response = world.client.post("/v1/wallet/bank-accounts", json=body, headers=world.customer)
    assert problem(response, status, code)["param"] == param
    assert world.client.get("/v1/wallet/bank-accounts", headers=world.customer).json()["data"] == []


def test_a_direct_debit_top_up_credits_the_purse_at_once(world: World) -> None:
    account = world.add_account()
    body = world.top_up(2500, account["id"])
    assert body["status"] == "succeeded" and body["id"].startswith("top_")
    assert (body["card_id"], body["bank_account_id"]) == (None, account["id"])
    assert body["collection_id"].startswith("dd_")
    assert world.purse() == 2500
    movements = world.client.get("/v1/wallet/transactions", headers=world.customer).json()["data"]
    assert [(m["entry_id"], m["amount"]) for m in movements] == [(body["id"], 2500)]
    collection = world.client.get(f"/v1/collections/{body['collection_id']}", headers=world.operator).json()
    assert (collection["status"], collection["top_up_id"], collection["amount"]) == ("pending", body["id"], 2500)


@pytest.mark.parametrize(
    ("sources", "param"),
    [({"card_id": "card_x", "bank_account_id": "ba_x"}, "bank_account_id"), ({}, "card_id")],
)
def test_a_top_up_names_a_card_or_a_bank_account_exactly(world: World, sources: dict[str, str], param: str) -> None:
    response = world.client.post(
        "/v1/wallet/top-ups", json={"amount": 1000, "currency": "EUR", **sources}, headers=world.customer
    )
    assert problem(response, 400, "validation_error")["param"] == param
    assert world.purse() == 0


def test_a_retried_top_up_with_its_idempotency_key_credits_and_collects_once(world: World) -> None:
    account = world.add_account()
    request = {"amount": 2000, "currency": "EUR", "bank_account_id": account["id"]}
    headers = {**world.customer, "Idempotency-Key": "top-up-2026-01-15-a"}
    first = world.client.post("/v1/wallet/top-ups", json=request, headers=headers)
    again = world.client.post("/v1/wallet/top-ups", json=request, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert world.purse() == 2000
    listed = world.client.get("/v1/collections", headers=world.operator).json()["data"]
    assert [c["id"] for c in listed] == [first.json()["collection_id"]]


def test_the_operator_runs_the_collection_and_fetches_a_valid_pain_008_file(world: World) -> None:
    account = world.add_account()
    collection_ids = [world.top_up(amount, account["id"])["collection_id"] for amount in (2500, 1000)]
    created = world.client.post("/v1/collection-runs", headers=world.operator)
    assert created.status_code == 201, created.text
    run = created.json()
    assert (run["object"], run["status"], run["collection_count"], run["total"]) == (
        "collection_run",
        "complete",
        2,
        3500,
    )
    assert run["collection_date"] == "2026-01-16" and run["file_url"] == f"/v1/collection-runs/{run['id']}/file"
    file = world.client.get(run["file_url"], headers=world.operator)
    assert file.status_code == 200 and file.headers["content-type"].startswith("application/xml")
    assert validate_pain(file.content) == "pain.008.001.02"
    creditor, debits = read_direct_debits(file.content)
    assert creditor == world.kleline.own_account.iban
    assert sorted(d.end_to_end_id for d in debits) == sorted(id.replace("dd_", "dd-") for id in collection_ids)
    assert {d.mandate_signed_on for d in debits} == {date(2026, 1, 15)}
    submitted = world.client.get("/v1/collections?status=submitted", headers=world.operator).json()["data"]
    assert {c["id"] for c in submitted} == set(collection_ids)
    assert {c["collection_run_id"] for c in submitted} == {run["id"]}
    assert world.client.get(f"/v1/collection-runs/{run['id']}", headers=world.operator).json() == run
    assert world.client.get("/v1/collection-runs", headers=world.operator).json() == {"data": [run], "has_more": False}
    empty = world.client.post("/v1/collection-runs", headers=world.operator).json()
    assert (empty["collection_count"], empty["file_url"]) == (0, None)
    problem(world.client.get(f"/v1/collection-runs/{empty['id']}/file", headers=world.operator), 404, "no_file")


def test_fetching_the_file_of_an_open_run_is_a_conflict_and_does_not_finish_it(world: World) -> None:
    account = world.add_account()
    world.top_up(2500, account["id"])
    interrupted = world.kleline.collections.runs.start(actor=OPERATOR)  # a crash left the run open, its file unwritten
    path = f"/v1/collection-runs/{interrupted.id}"
    opened = world.client.get(path, headers=world.operator).json()
    assert (opened["status"], opened["file_url"], opened["completed_at"]) == ("open", None, None)
    refused = problem(world.client.get(f"{path}/file", headers=world.operator), 409, "collection_run_open")
    assert "POST /v1/collection-runs" in refused["detail"]
    assert world.client.get(path, headers=world.operator).json() == opened  # the GET changed nothing
    finished = world.client.post("/v1/collection-runs", headers=world.operator)
    assert finished.status_code == 201, finished.text
    assert (finished.json()["id"], finished.json()["status"]) == (interrupted.id, "complete")
    file = world.client.get(finished.json()["file_url"], headers=world.operator)
    assert file.status_code == 200 and validate_pain(file.content) == "pain.008.001.02"


def test_a_returned_collection_shows_the_customers_debt_to_the_operator(world: World, kleline: Kleline) -> None:
    account = world.add_account()
    collection_id = world.top_up(2500, account["id"])["collection_id"]
    world.client.post("/v1/collection-runs", headers=world.operator)
    world.spend(2000)
    with kleline.db.transaction() as tx:  # what reconciliation does with the statement's return line
        collection = kleline.collections.collection_by_end_to_end(tx, collection_id)
        assert collection is not None
        kleline.collections.confirm_returned_in(tx, collection, line_ref="stmt-1:1", reason="AM04")
    assert world.purse() == 0
    receivables = world.client.get("/v1/receivables", headers=world.operator).json()
    assert receivables["has_more"] is False
    [owed] = receivables["data"]
    assert (owed["customer_id"], owed["amount"], owed["currency"], owed["returned_collections"]) == (
        world.customer_id,
        2000,
        "EUR",
        1,
    )
    returned = world.client.get(f"/v1/collections/{collection_id}", headers=world.operator).json()
    assert (returned["status"], returned["return_reason"], returned["shortfall"]) == ("returned", "AM04", 2000)
    refused = world.client.post(
        "/v1/wallet/top-ups",
        json={"amount": 1000, "currency": "EUR", "bank_account_id": account["id"]},
        headers=world.customer,
    )
    problem(refused, 422, "receivable_outstanding")
    assert trial_balance(kleline.db).balanced


def test_a_bank_account_is_removed_only_once_its_collections_are_sent(world: World) -> None:
    account = world.add_account()
    world.top_up(1000, account["id"])
    path = f"/v1/wallet/bank-accounts/{account['id']}"
    problem(world.client.delete(path, headers=world.customer), 409, "collections_pending")
    world.client.post("/v1/collection-runs", headers=world.operator)
    assert world.client.delete(path, headers=world.customer).status_code == 204
    problem(world.client.delete(path, headers=world.customer), 404, "not_found")
    assert world.client.get("/v1/wallet/bank-accounts", headers=world.customer).json()["data"] == []
    problem(
        world.client.post(
            "/v1/wallet/top-ups",
            json={"amount": 1000, "currency": "EUR", "bank_account_id": account["id"]},
            headers=world.customer,
        ),
        404,
        "not_found",
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/collection-runs"),
        ("GET", "/v1/collection-runs"),
        ("GET", "/v1/collections"),
        ("GET", "/v1/receivables"),
    ],
)
def test_collection_runs_collections_and_receivables_are_for_operators_only(
    world: World, method: str, path: str
) -> None:
    problem(world.client.request(method, path, headers=world.customer), 403, "forbidden")
    problem(world.client.request(method, path, headers=world.merchant()), 403, "forbidden")
    problem(world.client.request(method, path), 401, "unauthorized")
    assert world.client.request(method, path, headers=world.operator).status_code in (200, 201)


def test_bank_accounts_are_for_their_customer_only(world: World) -> None:
    problem(world.client.get("/v1/wallet/bank-accounts", headers=world.operator), 403, "forbidden")
    body = {"iban": IBAN, "holder_name": "Ada Lovelace", "mandate_accepted": True}
    problem(world.client.post("/v1/wallet/bank-accounts", json=body, headers=world.merchant()), 403, "forbidden")
    problem(world.client.post("/v1/wallet/bank-accounts", json=body), 401, "unauthorized")
