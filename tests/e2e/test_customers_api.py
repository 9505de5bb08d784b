"""Customers over HTTP: sign-up, sign-in, tokens, lockout, logout, and the wallet view."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kleline.bootstrap import Kleline
from kleline.cli import app as cli

from ..conftest import FakeClock
from ..operator_keys import operator_key
from .http import bearer, problem

PASSWORD = "correct horse battery staple"


def sign_up(client: TestClient, email: str = "ada@example.org") -> dict[str, Any]:
    response = client.post("/v1/customers", json={"email": email, "password": PASSWORD, "name": "Ada Lovelace"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def sign_in(client: TestClient, email: str = "ada@example.org", password: str = PASSWORD) -> httpx.Response:
    return client.post("/v1/auth/token", json={"email": email, "password": password})


def test_a_new_customer_gets_an_empty_eur_purse(client: TestClient) -> None:
    customer = sign_up(client, "Ada@Example.org")
    assert customer["id"].startswith("cus_")
    assert customer["email"] == "ada@example.org"
    assert customer["kyc_level"] == "unverified"
    assert "password" not in str(customer)
    token = sign_in(client).json()["token"]
    wallet = client.get("/v1/wallet", headers=bearer(token)).json()
    assert wallet["customer"]["id"] == customer["id"]
    assert wallet["purse"] == {"currency": "EUR", "balance": 0, "held": 0, "available": 0}
    assert wallet["limits"] == {
        "currency": "EUR",
        "max_balance": 15000,
        "monthly_top_up": 15000,
        "topped_up_this_month": 0,
        "top_up_room": 15000,
    }


def test_a_second_wallet_for_the_same_email_is_refused(client: TestClient) -> None:
    sign_up(client)
    response = client.post(
        "/v1/customers", json={"email": "ADA@example.org", "password": PASSWORD, "name": "Someone Else"}
    )
    assert problem(response, 409, "email_taken")["param"] == "email"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"email": "ada@example.org", "password": "too short", "name": "Ada"}, "password"),
        ({"email": "not an email", "password": PASSWORD, "name": "Ada"}, "email"),
        ({"email": "ada@example.org", "password": PASSWORD, "name": ""}, "name"),
        ({"email": "ada@example.org", "password": PASSWORD}, "name"),
    ],
)
def test_bad_sign_up_data_is_refused_and_names_the_field(
    client: TestClient, kleline: Kleline, body: dict[str, str], param: str
) -> None:
    before = kleline.ledger.accounts()  # Kleline's own, opened at start
    assert problem(client.post("/v1/customers", json=body), 400, "validation_error")["param"] == param
    assert kleline.ledger.accounts() == before


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client: TestClient) -> None:
    sign_up(client)
    wrong = problem(sign_in(client, password="wrong password!"), 401, "invalid_credentials")
    unknown = problem(sign_in(client, email="nobody@example.org"), 401, "invalid_credentials")
    assert wrong["detail"] == unknown["detail"]


def test_ten_failed_sign_ins_lock_the_customer_out_for_thirty_minutes(client: TestClient, clock: FakeClock) -> None:
    sign_up(client)
    for _ in range(10):
        problem(sign_in(client, password="wrong password!"), 401, "invalid_credentials")
    problem(sign_in(client), 401, "invalid_credentials")  # even the right password waits, told as a wrong one
    clock.advance(minutes=29)
    problem(sign_in(client), 401, "invalid_credentials")
    clock.advance(minutes=1, seconds=1)
    assert sign_in(client).status_code == 201


def test_a_success_resets_the_count_of_failures(client: TestClient) -> None:
    sign_up(client)
    for _ in range(9):
        sign_in(client, password="wrong password!")
    assert sign_in(client).status_code == 201
    for _ in range(9):
        sign_in(client, password="wrong password!")
    assert sign_in(client).status_code == 201


def test_a_token_expires(client: TestClient, clock: FakeClock) -> None:
    sign_up(client)
    token = sign_in(client).json()["token"]
    assert client.get("/v1/wallet", headers=bearer(token)).status_code == 200
    clock.advance(hours=1, seconds=1)
    problem(client.get("/v1/wallet", headers=bearer(token)), 401, "invalid_credentials")


def test_logout_revokes_the_token_presented_and_only_it(client: TestClient) -> None:
    sign_up(client)
    first = sign_in(client).json()["token"]
    second = sign_in(client).json()["token"]
    assert client.delete("/v1/auth/token", headers=bearer(first)).status_code == 204
    problem(client.get("/v1/wallet", headers=bearer(first)), 401, "invalid_credentials")
    assert client.get("/v1/wallet", headers=bearer(second)).status_code == 200


def test_the_wallet_needs_a_customer_token(client: TestClient, kleline: Kleline) -> None:
    problem(client.get("/v1/wallet"), 401, "unauthorized")
    problem(client.get("/v1/wallet", headers=bearer("ct_forged")), 401, "invalid_credentials")
    operator = operator_key(kleline.db)
    problem(client.get("/v1/wallet", headers=bearer(operator)), 403, "forbidden")
    sign_up(client)
    token = sign_in(client).json()["token"]
    problem(client.get("/v1/ledger/trial-balance", headers=bearer(token)), 403, "forbidden")


def test_verifying_a_customer_lifts_the_purse_limits(
    client: TestClient, kleline: Kleline, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = sign_up(client)
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["customers", "verify", "ada@example.org"])
    assert result.exit_code == 0, result.output
    assert "verified" in result.output
    token = sign_in(client).json()["token"]
    wallet = client.get("/v1/wallet", headers=bearer(token)).json()
    assert wallet["customer"]["kyc_level"] == "verified"
    assert wallet["limits"]["max_balance"] == 500_000
    assert kleline.customers.get(customer["id"]).kyc_level == "verified"
    unknown = CliRunner().invoke(cli, ["customers", "verify", "nobody@example.org"])
    assert unknown.exit_code == 1
    assert "no customer nobody@example.org" in unknown.output
