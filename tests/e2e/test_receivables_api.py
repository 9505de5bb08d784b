"""Clearing a customer's debt over HTTP: the operator takes a repayment from the purse or proposes a write-off that a
second operator approves, the customer repays from its own purse; each answer says what is still owed, a retry with
the same Idempotency-Key clears once, a refusal writes nothing, and once nothing is owed direct debits work again."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline
from kleline.collections import BAD_DEBT_ACCOUNT, receivable_code
from kleline.ledger.audit import trial_balance
from kleline.wallet.customers import purse_code

from ..operator_keys import operator_key
from .http import bearer, problem
from .test_collections_api import World


@pytest.fixture
def world(client: TestClient, kleline: Kleline) -> World:
    return World(client, kleline)


def in_debt(world: World, owed: int = 1500) -> str:
    """Ada's direct debit of 20 EUR comes back unpaid after she spent ``owed`` cents: she owes that; her account."""
    account = world.add_account()
    collection_id = world.top_up(2000, account["id"])["collection_id"]
    world.client.post("/v1/collection-runs", headers=world.operator)
    world.spend(owed)
    with world.kleline.db.transaction() as tx:  # what reconciliation does with the statement's return line
        collection = world.kleline.collections.collection_by_end_to_end(tx, collection_id)
        assert collection is not None
        world.kleline.collections.confirm_returned_in(tx, collection, line_ref="stmt-1:1", reason="AM04")
    assert world.purse() == 0
    account_id: str = account["id"]
    return account_id


def card_top_up(world: World, amount: int) -> None:
    card = world.client.post(
        "/v1/wallet/cards",
        json={"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": "Ada"},
        headers=world.customer,
    )
    assert card.status_code == 201, card.text
    done = world.client.post(
        "/v1/wallet/top-ups",
        json={"amount": amount, "currency": "EUR", "card_id": card.json()["id"]},
        headers=world.customer,
    )
    assert done.json()["status"] == "succeeded", done.text


def owed(world: World) -> int:
    return world.kleline.ledger.balance(receivable_code(world.customer_id)).posted


def test_an_operator_takes_a_repayment_from_the_purse_once_whatever_the_retries(world: World) -> None:
    in_debt(world, 1500)
    card_top_up(world, 1000)
    path = f"/v1/receivables/{world.customer_id}/repayments"
    headers = {**world.operator, "Idempotency-Key": "repay-ada-1"}
    first = world.client.post(path, headers=headers)
    again = world.client.post(path, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    body = first.json()
    assert body["id"].startswith("ent_") and body["object"] == "receivable_settlement"
    assert (body["customer_id"], body["kind"], body["amount"], body["currency"], body["outstanding"]) == (
        world.customer_id,
        "repayment",
        1000,
        "EUR",
        500,
    )
    assert (owed(world), world.purse()) == (500, 0)
    problem(world.client.post(path, headers=world.operator), 409, "purse_empty")
    reused = world.client.post(path, json={"amount": 100}, headers=headers)
    problem(reused, 409, "idempotency_key_reused")
    assert (owed(world), world.purse()) == (500, 0)


def test_one_operator_proposes_a_write_off_a_second_approves_it_and_direct_debits_work_again(world: World) -> None:
    account_id = in_debt(world, 1500)
    second = bearer(operator_key(world.kleline.db, None, "second operator"))
    path = f"/v1/receivables/{world.customer_id}/write-offs"

    def written_off(body: dict[str, Any] | None = None) -> dict[str, Any]:
        proposed = world.client.post(path, json=body, headers=world.operator)
        assert proposed.status_code == 202, proposed.text
        assert owed(world) == proposed.json()["parameters"]["owed"]  # nothing moves on a proposal
        own = world.client.post(f"/v1/proposals/{proposed.json()['id']}/approve", headers=world.operator)
        problem(own, 403, "same_approver")
        approved = world.client.post(f"/v1/proposals/{proposed.json()['id']}/approve", headers=second)
        assert approved.status_code == 200, approved.text
        result: dict[str, Any] = approved.json()["result"]
        return result

    part = written_off({"amount": 400, "currency": "EUR"})
    assert (part["amount"], part["outstanding"]) == (400, 1100)
    listed = world.client.get("/v1/receivables", headers=world.operator).json()["data"]
    assert [(r["customer_id"], r["amount"]) for r in listed] == [(world.customer_id, 1100)]
    problem(world.client.post(path, json={"amount": 1101}, headers=world.operator), 400, "amount_exceeds_debt")
    rest = written_off()
    assert (rest["amount"], rest["outstanding"]) == (1100, 0)
    assert world.client.get("/v1/receivables", headers=world.operator).json()["data"] == []
    assert world.kleline.ledger.balance(BAD_DEBT_ACCOUNT).posted == 1500
    problem(world.client.post(path, headers=world.operator), 409, "nothing_owed")
    assert world.top_up(1000, account_id)["status"] == "succeeded"
    assert trial_balance(world.kleline.db).balanced


def test_a_customer_repays_its_own_debt_from_its_purse(world: World) -> None:
    account_id = in_debt(world, 1500)
    card_top_up(world, 2500)
    repaid = world.client.post("/v1/wallet/repayments", headers=world.customer)
    assert repaid.status_code == 201, repaid.text
    assert (repaid.json()["customer_id"], repaid.json()["amount"], repaid.json()["outstanding"]) == (
        world.customer_id,
        1500,
        0,
    )
    assert world.purse() == 1000
    assert world.kleline.ledger.balance(purse_code(world.customer_id)).posted == 1000
    problem(world.client.post("/v1/wallet/repayments", headers=world.customer), 409, "nothing_owed")
    assert world.top_up(1000, account_id)["status"] == "succeeded"


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({"amount": 0}, 400, "validation_error", "amount"),
        ({"amount": 10.5}, 400, "validation_error", "amount"),
        ({"amount": 100, "currency": "USD"}, 400, "validation_error", "currency"),
        ({"amount": 1501}, 400, "amount_exceeds_debt", "amount"),
        ({"amount": 1001}, 402, "insufficient_funds", None),
    ],
)
def test_a_refused_repayment_is_a_precise_problem_and_writes_nothing(
    world: World, body: dict[str, Any], status: int, code: str, param: str | None
) -> None:
    in_debt(world, 1500)
    card_top_up(world, 1000)
    response = world.client.post(f"/v1/receivables/{world.customer_id}/repayments", json=body, headers=world.operator)
    assert problem(response, status, code).get("param") == param
    assert (owed(world), world.purse()) == (1500, 1000)


def test_clearing_debts_is_for_operators_and_the_customer_s_own_purse_only(world: World) -> None:
    in_debt(world, 1500)
    for kind in ("repayments", "write-offs"):
        path = f"/v1/receivables/{world.customer_id}/{kind}"
        problem(world.client.post(path, headers=world.customer), 403, "forbidden")
        problem(world.client.post(path, headers=world.merchant()), 403, "forbidden")
        problem(world.client.post(path), 401, "unauthorized")
        problem(world.client.post(f"/v1/receivables/cus_unknown/{kind}", headers=world.operator), 404, "not_found")
    problem(world.client.post("/v1/wallet/repayments", headers=world.operator), 403, "forbidden")
    _, bob = world.sign_up("bob@example.org")
    problem(world.client.post("/v1/wallet/repayments", headers=bob), 409, "nothing_owed")  # Bob's own: no debt
    assert owed(world) == 1500
