"""The customer's rights over HTTP: the export of everything held about them, and erasure by crypto-shredding.

After erasure and shredding, nothing of the customer's email, name, card holder or IBAN is left in clear: not in the
database's files (SQLite's, and its write-ahead log), not in a dump of every table, not in the logs; and the books
balance and verify exactly as they did before.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from kleline.bootstrap import Kleline
from kleline.cli import app as cli
from kleline.ledger.audit import trial_balance, verify
from kleline.worker.sweeps import SWEEPS

from ..conftest import FakeClock
from ..operator_keys import operator_key
from .http import bearer, problem

PASSWORD = "correct horse battery staple"
EMAIL = "grace.hopper@example.org"
NAME = "Grace Brewster Hopper"
HOLDER = "Grace B. Hopper"
IBAN = "FR7630006000011234567890189"
VISA = "4242424242424242"
SHOP_IBAN = "FR1420041010050500013M02606"
SECRETS = (EMAIL, NAME, HOLDER, IBAN, "grace.hopper", "Brewster", "30006000011234567890")


def call(client: TestClient, method: str, path: str, headers: dict[str, str], status: int, **kwargs: Any) -> Any:
    response = client.request(method, path, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    return response.json()


def _grace(client: TestClient, kleline: Kleline) -> tuple[str, dict[str, str], dict[str, str]]:
    """Grace, with a card and a bank account, who topped up 20.00 and spent it all at a shop."""
    operator = bearer(operator_key(kleline.db))
    shop_body = {"name": "Librairie Kléber", "email": "shop@example.fr", "iban": SHOP_IBAN, "fee_bps": 350}
    shop = call(client, "post", "/v1/merchants", operator, 201, json=shop_body)
    call(client, "post", f"/v1/merchants/{shop['id']}/approve", operator, 200)
    merchant = bearer(shop["secret_key"])
    grace_id = call(
        client, "post", "/v1/customers", {}, 201, json={"email": EMAIL, "password": PASSWORD, "name": NAME}
    )["id"]
    grace = bearer(
        call(client, "post", "/v1/auth/token", {}, 201, json={"email": EMAIL, "password": PASSWORD})["token"]
    )
    card = {"number": VISA, "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": HOLDER}
    card_id = call(client, "post", "/v1/wallet/cards", grace, 201, json=card)["id"]
    account = {"iban": IBAN, "holder_name": HOLDER, "mandate_accepted": True}
    call(client, "post", "/v1/wallet/bank-accounts", grace, 201, json=account)
    top_up = {"amount": 2000, "currency": "EUR", "card_id": card_id}
    assert call(client, "post", "/v1/wallet/top-ups", grace, 201, json=top_up)["status"] == "succeeded"
    payment = call(client, "post", "/v1/payments", merchant, 201, json={"amount": 2000, "currency": "EUR"})
    paid = call(client, "post", f"/v1/payments/{payment['id']}/confirm", grace, 200, json={"method": "purse"})
    assert paid["status"] == "succeeded"
    return grace_id, grace, merchant


def _books(kleline: Kleline) -> tuple[Any, ...]:
    report = verify(kleline.db)
    balance = trial_balance(kleline.db)
    return (balance.balanced, balance.currencies, report.ok, report.entries)


def _dump(kleline: Kleline) -> str:
    """Every row of every table, as text: SQLite's iterdump, PostgreSQL's pg_dump (or a SELECT of each table)."""
    url = make_url(kleline.settings.database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database)) as connection:
            return "\n".join(connection.iterdump())
    if shutil.which("pg_dump"):
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        dumped = subprocess.run(["pg_dump", "--data-only", conninfo], capture_output=True, text=True, check=True)
        return dumped.stdout
    lines = []
    with kleline.db.transaction(write=False) as tx:
        tables = [row[0] for row in tx.fetchall("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            for row in tx.fetchall(f'SELECT * FROM "{table}"'):
                lines.append(repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)))
    return "\n".join(lines)


def _files(kleline: Kleline) -> bytes:
    url = make_url(kleline.settings.database_url)
    if url.get_backend_name() != "sqlite":
        return b""
    path = Path(str(url.database))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_an_export_holds_everything_and_masks_cards_and_accounts(client: TestClient, kleline: Kleline) -> None:
    grace_id, grace, _ = _grace(client, kleline)
    response = client.get("/v1/wallet/export", headers=grace)
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    exported = response.json()
    assert exported["customer"] == {
        "id": grace_id,
        "email": EMAIL,
        "name": NAME,
        "kyc_level": "unverified",
        "created_at": exported["customer"]["created_at"],
    }
    assert exported["purse"] == {"currency": "EUR", "balance": 0, "held": 0, "available": 0}
    assert [m["amount"] for m in exported["movements"]] == [-2000, 2000]
    assert exported["movements"][0]["merchant_name"] == "Librairie Kléber"
    (card,) = exported["cards"]
    assert (card["first6"], card["last4"], card["holder_name"]) == ("424242", "4242", HOLDER)
    assert VISA not in response.text
    (account,) = exported["bank_accounts"]
    assert account["iban"] == "FR76" + "*" * 19 + "0189" and IBAN not in response.text
    assert [t["amount"] for t in exported["top_ups"]] == [2000]
    (payment,) = exported["payments"]
    assert payment["merchant_name"] == "Librairie Kléber" and payment["amount_captured"] == 2000
    assert exported["consents"] == {"current": [], "history": []}
    assert exported["offers"] == []
    assert [s["method"] for s in exported["sign_ins"]] == ["password"]


def test_erasure_is_refused_while_the_purse_holds_money(client: TestClient, kleline: Kleline) -> None:
    ada_body = {"email": "ada@example.org", "password": PASSWORD, "name": "Ada"}
    ada_id = call(client, "post", "/v1/customers", {}, 201, json=ada_body)["id"]
    ada = bearer(call(client, "post", "/v1/auth/token", {}, 201, json=ada_body | {"name": None})["token"])
    card = {"number": VISA, "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": "Ada"}
    card_id = call(client, "post", "/v1/wallet/cards", ada, 201, json=card)["id"]
    call(client, "post", "/v1/wallet/top-ups", ada, 201, json={"amount": 500, "currency": "EUR", "card_id": card_id})
    refused = client.post("/v1/wallet/erasure", headers=ada, json={"password": PASSWORD})
    assert "purse" in problem(refused, 409, "erasure_refused")["detail"]
    # Nothing changed: still signed in, the card still there, sign-in still open.
    wallet = call(client, "get", "/v1/wallet", ada, 200)
    assert wallet["customer"]["id"] == ada_id and [c["id"] for c in wallet["cards"]] == [card_id]
    call(client, "post", "/v1/auth/token", {}, 201, json={"email": "ada@example.org", "password": PASSWORD})


def test_erasure_wants_the_customer_s_password(client: TestClient, kleline: Kleline) -> None:
    _, grace, _ = _grace(client, kleline)
    assert client.post("/v1/wallet/erasure", json={"password": PASSWORD}).status_code == 401
    wrong = client.post("/v1/wallet/erasure", headers=grace, json={"password": "not the password"})
    problem(wrong, 400, "wrong_password")
    assert client.get("/v1/wallet", headers=grace).status_code == 200  # a wrong password erased nothing


def test_after_erasure_and_shredding_nothing_personal_is_left_and_the_books_are_unchanged(
    client: TestClient, kleline: Kleline, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    grace_id, grace, _ = _grace(client, kleline)
    books = _books(kleline)
    assert books[0] and books[2]
    # The scan finds what is there: a bank account's IBAN and holder stay readable until shredding (restricted, not
    # destroyed, during the retention period; direct debits need them), while the email, the name and the card's
    # holder are sealed under the customer's key from the start.
    before = _dump(kleline)
    assert IBAN in before and HOLDER in before
    assert EMAIL not in before and NAME not in before
    files_before = _files(kleline)
    assert not files_before or (IBAN.encode() in files_before and EMAIL.encode() not in files_before)

    erased = call(client, "post", "/v1/wallet/erasure", grace, 200, json={"password": PASSWORD})
    assert erased["status"] == "restricted" and erased["shredding_after"].startswith("2031-01-15")
    # The relationship has ended: the token no longer works, sign-in is refused as for an unknown address.
    assert client.get("/v1/wallet", headers=grace).status_code == 401
    refused = client.post("/v1/auth/token", json={"email": EMAIL, "password": PASSWORD})
    assert (
        problem(refused, 401, "invalid_credentials")["detail"]
        == problem(
            client.post("/v1/auth/token", json={"email": "nobody@example.org", "password": PASSWORD}),
            401,
            "invalid_credentials",
        )["detail"]
    )
    # Restricted, not yet shredded: the retention period has not run out, nothing is destroyed.
    assert kleline.erasure.shred_due() == []
    assert kleline.customers.get(grace_id).email == EMAIL
    with kleline.db.transaction() as tx:
        token = tx.fetchone(
            "SELECT COUNT(*) FROM customer_tokens WHERE customer_id = :id AND revoked_at IS NULL", {"id": grace_id}
        )
    assert token[0] == 0

    clock.advance(days=5 * 366)
    assert kleline.erasure.shred_due() == [grace_id]
    assert kleline.erasure.shred_due() == []  # once
    shredded = kleline.customers.get(grace_id)
    assert (shredded.email, shredded.name, shredded.erased_at is not None) == ("", "", True)

    assert _books(kleline) == books
    dump = _dump(kleline)
    files = _files(kleline)
    logs = caplog.text
    assert grace_id in dump  # the books still name the pseudonymous id
    for secret in SECRETS:
        assert secret not in dump, secret
        assert secret.encode() not in files, secret
        assert secret not in logs, secret
    # Nothing links the address to the old wallet any more: it may open a new one, a stranger to the first.
    again = call(client, "post", "/v1/customers", {}, 201, json={"email": EMAIL, "password": PASSWORD, "name": NAME})
    assert again["id"] != grace_id


def test_an_erased_customer_cannot_export_nor_erase_twice_over(client: TestClient, kleline: Kleline) -> None:
    grace_id, grace, _ = _grace(client, kleline)
    first = call(client, "post", "/v1/wallet/erasure", grace, 200, json={"password": PASSWORD})
    with pytest.raises(Exception) as refused:
        kleline.customer_export.export(grace_id)
    assert getattr(refused.value, "code", None) == "export_refused"
    again = kleline.erasure.request(grace_id, PASSWORD)
    assert again.isoformat().startswith(first["erased_at"][:19])


def test_erasure_withdraws_every_consent(client: TestClient, kleline: Kleline, clock: FakeClock) -> None:
    grace_id, grace, _ = _grace(client, kleline)
    kleline.consents.grant(grace_id, "audience_statistics", channel="wallet")
    clock.advance(seconds=1)
    call(client, "post", "/v1/wallet/erasure", grace, 200, json={"password": PASSWORD})
    assert [(s.purpose, s.granted) for s in kleline.consents.states(grace_id)] == [("audience_statistics", False)]
    assert [e.action for e in kleline.consents.history(grace_id)] == ["grant", "withdraw"]


def test_an_open_relationship_is_not_shredded_however_old(
    client: TestClient, kleline: Kleline, clock: FakeClock
) -> None:
    grace_id, _, _ = _grace(client, kleline)
    clock.advance(days=20 * 366)
    assert kleline.erasure.shred_due() == []
    assert kleline.customers.get(grace_id).email == EMAIL


def test_the_command_line_and_the_worker_shred_whoever_is_due(
    client: TestClient, kleline: Kleline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    grace_id, grace, _ = _grace(client, kleline)
    call(client, "post", "/v1/wallet/erasure", grace, 200, json={"password": PASSWORD})
    monkeypatch.setenv("KLELINE_DATABASE_URL", kleline.settings.database_url)
    monkeypatch.setenv("COLUMNS", "240")
    runner = CliRunner()
    # Erased on the test clock's day (January 2026): five years have not passed on the system clock either.
    listed = runner.invoke(cli, ["customers", "shred", "--dry-run"])
    assert listed.exit_code == 0, listed.output
    assert "0 customer(s) due for shredding" in listed.output
    monkeypatch.setenv("KLELINE_ERASURE_RETENTION_YEARS", "0")
    listed = runner.invoke(cli, ["customers", "shred", "--dry-run"])
    assert grace_id in listed.output and "1 customer(s) due" in listed.output
    assert kleline.customers.get(grace_id).email == EMAIL  # a dry run destroys nothing
    shredded = runner.invoke(cli, ["customers", "shred"])
    assert shredded.exit_code == 0 and "1 customer(s) shredded" in shredded.output, shredded.output
    assert kleline.customers.get(grace_id).email == ""


def test_the_worker_shreds_on_its_periodic_pass(client: TestClient, kleline: Kleline, clock: FakeClock) -> None:
    grace_id, grace, _ = _grace(client, kleline)
    call(client, "post", "/v1/wallet/erasure", grace, 200, json={"password": PASSWORD})
    (sweep,) = [sweep for sweep in SWEEPS if sweep.name == "customer_rights.shred"]
    assert sweep.run(kleline) == 0
    clock.advance(days=5 * 366)
    assert sweep.run(kleline) == 1
    assert kleline.customers.get(grace_id).name == ""
