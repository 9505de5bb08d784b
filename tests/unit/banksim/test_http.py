"""The simulator's HTTP side: files in, statements out, accounts and cardholders set up, refusals as problems."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kleline.banksim import BankSimulator, create_app
from kleline.sepa import read_statement

from ...conftest import FakeClock
from ...e2e.http import problem
from .conftest import BOOKSHOP, CUSTOMER, KLELINE, VISA, card_network, eur, payouts_file, transfer


@pytest.fixture
def client(simulator: BankSimulator) -> Iterator[TestClient]:
    with TestClient(create_app(simulator, max_file_bytes=100_000)) as test_client:
        yield test_client


def test_a_file_posted_is_booked_and_the_receipt_says_what_it_held(client: TestClient) -> None:
    file = payouts_file(transfer("po_1", "120.50", BOOKSHOP), transfer("po_2", "1.00", BOOKSHOP[:-1] + "7"))

    response = client.post("/files", content=file, headers={"Content-Type": "application/xml"})

    assert response.status_code == 201, response.text
    assert response.json() == {
        "id": "F000001",
        "kind": "pain.001.001.03",
        "message_id": "sr_1",
        "account_iban": KLELINE.iban,
        "transactions": 2,
        "total": "121.50",
        "currency": "EUR",
        "returns": [{"end_to_end_id": "po_2", "reason": "AC01"}],
    }
    again = client.post("/files", content=file)
    assert again.status_code == 200 and again.json() == response.json()


def test_a_file_that_is_not_valid_sepa_is_refused_with_where(client: TestClient) -> None:
    body = problem(client.post("/files", content=b"<Document/>"), 400, "sepa_file_invalid")
    assert body["line"] == 1


def test_a_file_above_the_size_limit_is_refused_unread(client: TestClient) -> None:
    problem(client.post("/files", content=b"x" * 100_001), 413, "file_too_large")


def test_statements_are_closed_by_post_and_read_again_by_number(client: TestClient) -> None:
    client.post("/files", content=payouts_file(transfer("po_1", "120.50", BOOKSHOP)))

    closed = client.post(f"/statements/{KLELINE.iban}")

    assert closed.status_code == 201
    assert closed.headers["content-type"].startswith("application/xml")
    assert closed.headers["x-statement-sequence"] == "1"
    assert closed.headers["location"] == f"/statements/{KLELINE.iban}/1?currency=EUR"
    assert [line.end_to_end_id for line in read_statement(closed.content).lines] == ["po_1"]
    again = client.get(f"/statements/{KLELINE.iban}/1")
    assert again.status_code == 200 and again.content == closed.content
    problem(client.get(f"/statements/{KLELINE.iban}/2"), 404, "unknown_statement")
    # An IBAN written the way people write them finds the same account.
    spaced = " ".join(KLELINE.iban[i : i + 4] for i in range(0, len(KLELINE.iban), 4))
    assert client.get(f"/statements/{spaced}/1").content == closed.content


def test_an_account_reads_and_is_set_up_with_exact_decimal_strings(client: TestClient) -> None:
    assert client.get(f"/accounts/{CUSTOMER}").json() == {
        "iban": CUSTOMER,
        "bic": None,
        "name": None,
        "currency": "EUR",
        "balance": "1000000.00",
        "closed": False,
        "statements": 0,
    }

    changed = client.post(f"/accounts/{CUSTOMER}", json={"balance": "12.50", "closed": True})

    assert changed.status_code == 200
    assert changed.json() | {"bic": "?"} == {
        "iban": CUSTOMER,
        "bic": "?",
        "name": None,
        "currency": "EUR",
        "balance": "12.50",
        "closed": True,
        "statements": 0,
    }
    assert changed.json()["bic"] == "ABNANL2A"
    problem(client.post(f"/accounts/{CUSTOMER}", json={"balance": 12.5}), 400, "validation_error")
    problem(client.post(f"/accounts/{CUSTOMER}", json={"balance": "12.505"}), 400, "invalid_request")
    problem(client.post(f"/accounts/{CUSTOMER}", json={"currency": "XYZ"}), 400, "invalid_request")
    problem(client.get("/accounts/FR7630003000000005000000168"), 400, "invalid_iban")
    assert client.get(f"/accounts/{CUSTOMER}").json()["balance"] == "12.50"


def test_a_cardholders_balance_shows_what_is_held_and_can_be_set(
    client: TestClient, simulator: BankSimulator, clock: FakeClock
) -> None:
    card_network(simulator, clock).authorize(VISA, eur("42.00"), "pay_1")

    assert client.get(f"/cards/{VISA.number}/balance").json() == {
        "currency": "EUR",
        "posted": "100000.00",
        "held": "42.00",
        "available": "99958.00",
    }
    emptied = client.post(f"/cards/{VISA.number}/balance", json={"balance": "50.00"})
    assert emptied.json() == {"currency": "EUR", "posted": "50.00", "held": "42.00", "available": "8.00"}
    problem(client.get("/cards/1234567812345678/balance"), 400, "invalid_card_details")


def test_the_books_balance_and_the_banks_list_their_accounts(client: TestClient) -> None:
    client.post("/files", content=payouts_file(transfer("po_1", "120.50", BOOKSHOP)))

    assert client.get("/trial-balance").json() == {"EUR": "0.00"}
    assert client.get("/banks").json() == {"PSSTFRPP": [BOOKSHOP], "SOGEFRPP": [KLELINE.iban]}
    assert client.get("/health").json() == {"status": "ok", "acquirer_iban": KLELINE.iban}
