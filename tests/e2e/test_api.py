"""The HTTP API end to end: health, OpenAPI and docs, operator authentication, and the ledger views, on each backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline
from kleline.ledger import EntryRequest, HoldRequest, NormalSide, credit, debit
from kleline.money import Money
from kleline.operators.service import create_key, revoke_key
from kleline.staff.roles import Role

from ..operator_keys import OPERATOR
from ..operator_keys import operator_key as new_operator_key
from .http import bearer
from .http import problem as assert_problem

CARDS = "card:visa:receivable"
BANK_USD = "bank:CHASUS33:safeguarding"
PURSE = "customer:cus_1:purse"
PURSE_USD = "customer:cus_2:purse"
MERCHANT = "merchant:mer_1:balance"


@pytest.fixture
def operator_key(kleline: Kleline) -> str:
    """A live operator key."""
    return new_operator_key(kleline.db)


def open_chart(kleline: Kleline) -> None:
    kleline.ledger.open_account(CARDS, "EUR", NormalSide.DEBIT)
    kleline.ledger.open_account(PURSE, "EUR", NormalSide.CREDIT, floor=0)
    kleline.ledger.open_account(MERCHANT, "EUR", NormalSide.CREDIT, floor=0)
    kleline.ledger.open_account(BANK_USD, "USD", NormalSide.DEBIT)
    kleline.ledger.open_account(PURSE_USD, "USD", NormalSide.CREDIT, floor=0)


def transfer(entry_id: str, source: str, target: str, money: Money, description: str = "") -> EntryRequest:
    """Move ``money`` from ``source`` (debited) to ``target`` (credited)."""
    return EntryRequest(entry_id, (debit(source, money), credit(target, money)), description)


# --- operations ---------------------------------------------------------------------------------------------------


def test_health_answers_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_the_openapi_document_lists_the_ledger_routes(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/v1/ledger/trial-balance" in paths
    assert "/v1/ledger/accounts/{code}" in paths
    assert "/v1/ledger/accounts/{code}/movements" in paths


def test_the_docs_page_is_html(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()


def test_an_unknown_path_is_a_not_found_problem(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404, "not_found")


def test_a_wrong_method_is_a_method_not_allowed_problem(client: TestClient, operator_key: str) -> None:
    response = client.post("/v1/ledger/trial-balance", headers=bearer(operator_key))
    assert_problem(response, 405, "method_not_allowed")


def test_a_wrong_method_is_answered_with_the_methods_the_path_takes(client: TestClient) -> None:
    for method, path, allowed in (
        ("POST", "/v1/ledger/trial-balance", {"GET"}),
        ("PUT", "/v1/payments", {"GET", "POST"}),
        ("PATCH", "/v1/wallet/cards/card_1", {"DELETE"}),
    ):
        response = client.request(method, path)
        assert_problem(response, 405, "method_not_allowed")
        assert {name.strip() for name in response.headers["allow"].split(",")} == allowed, path


# --- authentication -----------------------------------------------------------------------------------------------


def test_trial_balance_without_a_key_is_refused_with_problem_json(client: TestClient) -> None:
    response = client.get("/v1/ledger/trial-balance")
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_openapi_document_declares_bearer_authentication(client: TestClient) -> None:
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"


def test_trial_balance_with_another_scheme_than_bearer_is_refused(client: TestClient, operator_key: str) -> None:
    response = client.get("/v1/ledger/trial-balance", headers={"Authorization": f"Basic {operator_key}"})
    assert_problem(response, 401, "unauthorized")


def test_trial_balance_with_a_merchant_key_is_forbidden(client: TestClient) -> None:
    assert_problem(client.get("/v1/ledger/trial-balance", headers=bearer("sk_x")), 403, "forbidden")


def test_trial_balance_with_an_unknown_operator_key_is_refused(client: TestClient) -> None:
    response = client.get("/v1/ledger/trial-balance", headers=bearer("op_not-a-key-anyone-was-given"))
    assert_problem(response, 401, "unauthorized")


def test_trial_balance_with_a_revoked_key_is_refused(client: TestClient, kleline: Kleline) -> None:
    key = create_key(kleline.db, "soon revoked", role=Role.SUPPORT, actor=OPERATOR)
    assert client.get("/v1/ledger/trial-balance", headers=bearer(key.secret)).status_code == 200
    assert revoke_key(kleline.db, key.id, actor=OPERATOR).revoked_at is not None
    assert_problem(client.get("/v1/ledger/trial-balance", headers=bearer(key.secret)), 401, "unauthorized")


# --- trial balance ------------------------------------------------------------------------------------------------


def test_trial_balance_of_fresh_books_is_balanced_at_zero(client: TestClient, operator_key: str) -> None:
    # Nothing posted yet; Kleline's own accounts are open from the start, in euros.
    response = client.get("/v1/ledger/trial-balance", headers=bearer(operator_key))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"balanced": True, "currencies": {"EUR": {"debits": 0, "credits": 0}}}


def test_trial_balance_totals_each_currency_after_postings(
    client: TestClient, kleline: Kleline, operator_key: str
) -> None:
    open_chart(kleline)
    kleline.ledger.post(transfer("top_up_1", CARDS, PURSE, Money(10_000, "EUR")))
    kleline.ledger.post(transfer("top_up_2", CARDS, PURSE, Money(2_550, "EUR")))
    kleline.ledger.post(transfer("pay_1", PURSE, MERCHANT, Money(4_000, "EUR")))
    kleline.ledger.post(transfer("top_up_usd", BANK_USD, PURSE_USD, Money(777, "USD")))

    response = client.get("/v1/ledger/trial-balance", headers=bearer(operator_key))

    assert response.status_code == 200
    assert response.json() == {
        "balanced": True,
        "currencies": {
            "EUR": {"debits": 12_550, "credits": 12_550},
            "USD": {"debits": 777, "credits": 777},
        },
    }


# --- accounts -----------------------------------------------------------------------------------------------------


def test_an_account_shows_its_balance_held_and_available(
    client: TestClient, kleline: Kleline, operator_key: str
) -> None:
    open_chart(kleline)
    kleline.ledger.post(transfer("top_up_1", CARDS, PURSE, Money(1_000, "EUR")))
    kleline.ledger.hold(
        HoldRequest(
            "hold_1",
            (debit(PURSE, Money(300, "EUR")), credit(MERCHANT, Money(300, "EUR"))),
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )
    )

    purse = client.get(f"/v1/ledger/accounts/{PURSE}", headers=bearer(operator_key))
    cards = client.get(f"/v1/ledger/accounts/{CARDS}", headers=bearer(operator_key))

    assert purse.status_code == 200
    assert purse.json() == {
        "code": PURSE,
        "currency": "EUR",
        "normal_side": "credit",
        "floor": 0,
        "balance": 1_000,
        "held": 300,
        "available": 700,
    }
    assert cards.status_code == 200
    assert cards.json() == {
        "code": CARDS,
        "currency": "EUR",
        "normal_side": "debit",
        "floor": None,
        "balance": 1_000,
        "held": 0,
        "available": 1_000,
    }


def test_an_unknown_account_is_a_not_found_problem(client: TestClient, operator_key: str) -> None:
    response = client.get("/v1/ledger/accounts/customer:nobody:purse", headers=bearer(operator_key))
    body = assert_problem(response, 404, "unknown_account")
    assert "customer:nobody:purse" in body["detail"]


def test_an_account_without_a_key_is_refused(client: TestClient, kleline: Kleline) -> None:
    open_chart(kleline)
    assert_problem(client.get(f"/v1/ledger/accounts/{PURSE}"), 401, "unauthorized")


# --- movements ----------------------------------------------------------------------------------------------------


def test_movements_come_newest_first_with_the_balance_after_each(
    client: TestClient, kleline: Kleline, operator_key: str
) -> None:
    open_chart(kleline)
    kleline.ledger.post(transfer("top_up_1", CARDS, PURSE, Money(1_000, "EUR"), "first top-up"))
    kleline.ledger.post(transfer("top_up_2", CARDS, PURSE, Money(500, "EUR"), "second top-up"))
    kleline.ledger.post(transfer("pay_1", PURSE, MERCHANT, Money(300, "EUR"), "a purchase"))

    response = client.get(f"/v1/ledger/accounts/{PURSE}/movements", headers=bearer(operator_key))

    assert response.status_code == 200
    body = response.json()
    assert body["has_more"] is False
    movements = body["data"]
    assert [(m["entry_id"], m["amount"], m["balance_after"], m["description"]) for m in movements] == [
        ("pay_1", -300, 1_200, "a purchase"),
        ("top_up_2", 500, 1_500, "second top-up"),
        ("top_up_1", 1_000, 1_000, "first top-up"),
    ]
    sequences = [m["sequence"] for m in movements]
    assert sequences == sorted(sequences, reverse=True)
    for movement in movements:
        posted_at = datetime.fromisoformat(movement["posted_at"])
        assert posted_at.tzinfo is not None
        assert movement["posted_at"].endswith("Z")


def test_movements_page_with_limit_and_starting_after(client: TestClient, kleline: Kleline, operator_key: str) -> None:
    open_chart(kleline)
    for i in range(5):
        kleline.ledger.post(transfer(f"top_up_{i}", CARDS, PURSE, Money(100 + i, "EUR")))
    url = f"/v1/ledger/accounts/{PURSE}/movements"

    seen: list[tuple[str, int]] = []
    pages: list[tuple[int, bool]] = []
    params: dict[str, int] = {"limit": 2}
    while True:
        response = client.get(url, params=params, headers=bearer(operator_key))
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [(m["entry_id"], m["balance_after"]) for m in body["data"]]
        pages.append((len(body["data"]), body["has_more"]))
        if not body["has_more"]:
            break
        params = {"limit": 2, "starting_after": body["data"][-1]["sequence"]}

    assert pages == [(2, True), (2, True), (1, False)]
    # The running balance is over the whole history, not over the page.
    assert seen == [("top_up_4", 510), ("top_up_3", 406), ("top_up_2", 303), ("top_up_1", 201), ("top_up_0", 100)]

    everything = client.get(url, params={"limit": 5}, headers=bearer(operator_key)).json()
    assert everything["has_more"] is False
    assert [(m["entry_id"], m["balance_after"]) for m in everything["data"]] == seen


def test_movements_of_an_account_without_any_are_an_empty_page(
    client: TestClient, kleline: Kleline, operator_key: str
) -> None:
    open_chart(kleline)
    response = client.get(f"/v1/ledger/accounts/{MERCHANT}/movements", headers=bearer(operator_key))
    assert response.status_code == 200
    assert response.json() == {"data": [], "has_more": False}


def test_movements_of_an_unknown_account_are_a_not_found_problem(client: TestClient, operator_key: str) -> None:
    response = client.get("/v1/ledger/accounts/customer:nobody:purse/movements", headers=bearer(operator_key))
    assert_problem(response, 404, "unknown_account")


@pytest.mark.parametrize("limit", [0, 101])
def test_movements_refuse_a_limit_out_of_range(
    client: TestClient, kleline: Kleline, operator_key: str, limit: int
) -> None:
    open_chart(kleline)
    response = client.get(
        f"/v1/ledger/accounts/{PURSE}/movements", params={"limit": limit}, headers=bearer(operator_key)
    )
    body = assert_problem(response, 400, "validation_error")
    assert body["param"] == "limit"


@pytest.mark.parametrize("value", ["0", "soon"])
def test_movements_refuse_a_malformed_starting_after(
    client: TestClient, kleline: Kleline, operator_key: str, value: str
) -> None:
    open_chart(kleline)
    response = client.get(
        f"/v1/ledger/accounts/{PURSE}/movements", params={"starting_after": value}, headers=bearer(operator_key)
    )
    body = assert_problem(response, 400, "validation_error")
    assert body["param"] == "starting_after"
