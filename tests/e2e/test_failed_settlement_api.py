"""A settlement run that cannot proceed, over HTTP: a server-side ``configuration_error`` naming the run (never a
404 about an account), the run readable as ``failed`` with its reason, and the same call once the fault is fixed
paying each merchant once."""

from __future__ import annotations

from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline
from kleline.bootstrap.accounts import ensure_system_accounts
from kleline.ledger import EntryRequest, credit, debit
from kleline.merchants.model import balance_account
from kleline.money import Money
from kleline.sepa.model import OwnAccount
from kleline.settlement import Settlement

from ..operator_keys import operator_key
from .http import bearer, problem

# Kleline's account at another bank than the one its books were opened for: no bank:BNPAFRPP:... accounts exist.
ELSEWHERE = OwnAccount("FR7630004000000000000000151", "BNPAFRPP", "Kleline SAS", "FR72ZZZ123456")
IBAN = "FR1420041010050500013M02606"


def test_a_run_stopped_by_a_missing_account_is_a_server_side_problem_then_resumes_once_fixed(
    client: TestClient, kleline: Kleline
) -> None:
    kleline.settlement = Settlement(kleline.db, kleline.ledger, ELSEWHERE, clock=kleline.clock, minimum=1000)
    operator = bearer(operator_key(kleline.db))
    created = client.post(
        "/v1/merchants", json={"name": "Librairie", "email": "a@example.fr", "iban": IBAN}, headers=operator
    )
    shop = created.json()["id"]
    assert client.post(f"/v1/merchants/{shop}/approve", headers=operator).status_code == 200
    sales = Money(4200, "EUR")
    kleline.ledger.post(
        EntryRequest("sales", (debit("card:visa:receivable", sales), credit(balance_account(shop), sales)), "sales")
    )

    body = problem(client.post("/v1/settlement-runs", json={}, headers=operator), 500, "configuration_error")
    assert "bank:BNPAFRPP:in-transit" in body["detail"]
    run_id = body["settlement_run_id"]
    run = client.get(f"/v1/settlement-runs/{run_id}", headers=operator).json()
    assert (run["status"], run["payouts"], run["file_url"]) == ("failed", [], None)
    assert "no account bank:BNPAFRPP:in-transit" in run["failure_reason"]
    assert [r["status"] for r in client.get("/v1/settlement-runs", headers=operator).json()["data"]] == ["failed"]

    ensure_system_accounts(kleline.ledger, ELSEWHERE)  # the fault fixed
    again = client.post("/v1/settlement-runs", json={}, headers=operator)
    assert again.status_code == 200, again.text  # the period's run, resumed
    resumed = again.json()
    assert (resumed["id"], resumed["status"], resumed["failure_reason"]) == (run_id, "complete", None)
    [payout] = resumed["payouts"]
    assert (payout["merchant_id"], payout["amount"]) == (shop, 4200)
    assert client.post("/v1/settlement-runs", json={}, headers=operator).json()["payouts"] == [payout]
    assert kleline.ledger.balance(balance_account(shop)).posted == 0
