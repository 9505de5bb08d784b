"""Bank statements over HTTP and on the command line: an operator imports camt.053, reads what matched, works the
suspense queue; nobody else may, and a refused document leaves the books as they were."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.cli import app
from kleline.config import load_settings
from kleline.ledger import NormalSide
from kleline.money import Money
from kleline.payments.model import PaymentRequest
from kleline.sepa import BankStatement, Direction, StatementLine, write_statement
from kleline.staff.roles import Role

from ..integration.helpers import book_snapshot
from ..operator_keys import operator_key
from .http import bearer, problem

MERCHANT_IBAN = "FR1420041010050500013M02606"
PASSWORD = "correct horse battery staple"


def line(ref: str, minor: int, e2e: str | None, direction: Direction = Direction.CREDIT) -> StatementLine:
    return StatementLine(ref, Money(minor, "EUR"), direction, date(2026, 1, 16), e2e, None, "Visa Europe", None, None)


def document(iban: str, *lines: StatementLine, statement_id: str = "STMT-1") -> bytes:
    return write_statement(
        BankStatement(
            f"MSG-{statement_id}",
            statement_id,
            iban,
            "EUR",
            datetime(2026, 1, 16, 18, tzinfo=UTC),
            Money(0, "EUR"),
            Money(sum(x.amount.minor for x in lines), "EUR"),
            lines,
        )
    )


class World:
    """An operator, a merchant (and its key), a customer who paid 25 EUR by card, and their headers."""

    def __init__(self, client: TestClient, kleline: Kleline) -> None:
        self.client = client
        self.kleline = kleline
        open_system_accounts(kleline)
        self.operator = bearer(operator_key(kleline.db))
        created = client.post(
            "/v1/merchants",
            json={"name": "Librairie Kléber", "email": "shop@example.fr", "iban": MERCHANT_IBAN, "fee_bps": 350},
            headers=self.operator,
        )
        assert created.status_code == 201, created.text
        self.merchant_id = created.json()["id"]
        client.post(f"/v1/merchants/{self.merchant_id}/approve", headers=self.operator)
        self.merchant = bearer(created.json()["secret_key"])
        customer = kleline.customers.sign_up("ada@example.org", PASSWORD, "Ada")
        self.customer = bearer(kleline.customers.sign_in("ada@example.org", PASSWORD).token)
        card = kleline.cards.register(customer.id, "4242424242424242", 12, 2030, "123", "Ada Lovelace")
        payment = kleline.payments.create(self.merchant_id, PaymentRequest(Money(2_500, "EUR")))
        self.payment = kleline.payments.confirm(payment.id, customer.id, "card", card_id=card.id)
        assert self.payment.status == "succeeded"

    def statement(self, *lines: StatementLine, statement_id: str = "STMT-1") -> bytes:
        return document(self.kleline.own_account.iban, *lines, statement_id=statement_id)

    def post(self, body: bytes, headers: dict[str, str] | None = None, content_type: str = "application/xml") -> Any:
        sent = {**(self.operator if headers is None else headers), "Content-Type": content_type}
        return self.client.post("/v1/bank-statements", content=body, headers=sent)


@pytest.fixture
def world(client: TestClient, kleline: Kleline) -> World:
    return World(client, kleline)


def test_an_operator_imports_a_statement_reads_it_back_and_a_second_import_changes_nothing(world: World) -> None:
    body = world.statement(line("NTRY-1", 2_500, world.payment.authorization_id), line("NTRY-2", 700, "GIFT"))

    imported = world.post(body)

    assert imported.status_code == 201, imported.text
    result = imported.json()
    assert (result["matched"], result["unmatched"], result["duplicates"], result["replayed"]) == (1, 1, 0, False)
    (statement,) = result["statements"]
    assert statement["status"] == "complete" and statement["statement_id"] == "STMT-1"
    matched, held = statement["lines"]
    assert matched["matched"] == {"type": "card_payment", "id": world.payment.id, "action": "confirm"}
    assert (held["status"], held["reason"], held["counterparty_name"]) == (
        "suspense",
        "unknown_reference",
        "Visa Europe",
    )

    listed = world.client.get("/v1/bank-statements", headers=world.operator).json()
    assert [s["id"] for s in listed["data"]] == [statement["id"]] and listed["data"][0]["lines"] is None
    assert world.client.get(f"/v1/bank-statements/{statement['id']}", headers=world.operator).json() == statement
    problem(world.client.get("/v1/bank-statements/bst_missing", headers=world.operator), 404, "not_found")

    snapshot = book_snapshot(world.kleline.db)
    again = world.post(body)
    assert again.status_code == 200
    assert again.json() == {**result, "replayed": True}
    assert book_snapshot(world.kleline.db) == snapshot


def test_only_operators_import_statements_or_see_the_queue(world: World) -> None:
    body = world.statement(line("NTRY-1", 100, "X"))
    for headers, status, code in (
        (world.merchant, 403, "forbidden"),
        (world.customer, 403, "forbidden"),
        ({}, 401, "unauthorized"),
    ):
        problem(world.post(body, headers), status, code)
        problem(world.client.get("/v1/suspense-items", headers=headers), status, code)
        problem(world.client.get("/v1/bank-statements", headers=headers), status, code)
    assert world.client.get("/v1/bank-statements", headers=world.operator).json()["data"] == []


def test_refused_documents_are_problems_that_say_where_and_leave_the_books_as_they_were(world: World) -> None:
    valid = world.statement(line("NTRY-1", 100, "X"))
    snapshot = book_snapshot(world.kleline.db)

    not_xml = problem(world.post(b"<Document><unclosed>"), 400, "malformed_statement")
    assert not_xml["line"] == 1
    broken = problem(world.post(valid.replace(b">CRDT<", b">UP<", 1)), 400, "malformed_statement")
    assert "CdtDbtInd" in broken["detail"] and broken["line"] > 1
    other = document("DE89370400440532013000", line("NTRY-1", 100, "X"))
    assert problem(world.post(other), 400, "unknown_bank_account")["param"] == "account_iban"
    problem(world.post(valid, content_type="application/json"), 415, "unsupported_media_type")
    world.kleline.reconciliation.max_bytes = len(valid) - 1
    problem(world.post(valid), 413, "statement_too_large")
    world.kleline.reconciliation.max_bytes = 10 * len(valid)
    assert book_snapshot(world.kleline.db) == snapshot

    assert world.post(valid).status_code == 201
    changed = world.statement(line("NTRY-1", 101, "X"))
    problem(world.post(changed), 409, "statement_conflict")


def test_an_operator_works_the_suspense_queue(world: World) -> None:
    world.kleline.ledger.open_account("kleline:bank-interest", "EUR", NormalSide.CREDIT)
    world.post(
        world.statement(
            line("NTRY-1", 321, "INTEREST"), line("NTRY-2", 2_500, world.payment.authorization_id, Direction.DEBIT)
        )
    )
    queue = world.client.get("/v1/suspense-items", headers=world.operator).json()
    reasons = {item["line"]["entry_ref"]: item["reason"] for item in queue["data"]}
    assert reasons == {"NTRY-1": "unknown_reference", "NTRY-2": "direction_mismatch"}
    interest = next(item for item in queue["data"] if item["line"]["entry_ref"] == "NTRY-1")
    url = f"/v1/suspense-items/{interest['id']}/resolve"

    two = world.client.post(url, json={"payout_id": "po_1", "account_code": "x"}, headers=world.operator)
    problem(two, 400, "validation_error")
    problem(
        world.client.post(url, json={"dismiss": True, "note": "?"}, headers=world.operator), 400, "invalid_resolution"
    )
    proposed = world.client.post(
        url, json={"account_code": "kleline:bank-interest", "note": "January interest"}, headers=world.operator
    )
    assert proposed.status_code == 202, proposed.text
    proposal = proposed.json()
    assert (proposal["kind"], proposal["status"], proposal["subject"]) == (
        "suspense_resolution",
        "pending",
        {"type": "suspense_item", "id": interest["id"]},
    )
    assert world.client.get(f"/v1/suspense-items/{interest['id']}", headers=world.operator).json()["status"] == "open"
    problem(
        world.client.post(url, json={"account_code": "kleline:commission"}, headers=world.operator),
        409,
        "proposal_pending",
    )
    approve = f"/v1/proposals/{proposal['id']}/approve"
    problem(world.client.post(approve, headers=world.operator), 403, "same_approver")
    second = bearer(operator_key(world.kleline.db, Role.FINANCE, "second"))
    approved = world.client.post(approve, headers=second)

    assert approved.status_code == 200, approved.text
    item = world.client.get(f"/v1/suspense-items/{interest['id']}", headers=world.operator).json()
    assert item["status"] == "resolved"
    assert item["resolution"]["type"] == "account" and item["resolution"]["note"] == "January interest"
    assert item["resolution"]["resolved_by"] == proposal["id"]
    assert approved.json()["result"]["entry_id"] == item["resolution"]["entry_id"]
    assert world.kleline.ledger.balance("kleline:bank-interest").posted == 321
    problem(
        world.client.post(url, json={"account_code": "kleline:commission"}, headers=world.operator),
        409,
        "suspense_item_resolved",
    )
    problem(
        world.client.post(
            "/v1/suspense-items/si_x/resolve", json={"dismiss": True, "note": "n"}, headers=world.operator
        ),
        404,
        "not_found",
    )
    resolved_list = world.client.get("/v1/suspense-items?status=resolved", headers=world.operator).json()
    assert [i["id"] for i in resolved_list["data"]] == [interest["id"]]
    assert len(world.client.get("/v1/suspense-items?status=all", headers=world.operator).json()["data"]) == 2
    assert world.client.get(f"/v1/suspense-items/{interest['id']}", headers=world.operator).json() == item


def test_kleline_bank_import_reconciles_a_file_and_says_when_it_was_imported_before(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "240")
    settings = load_settings()
    kleline = build(settings)
    try:
        open_system_accounts(kleline)
        iban = kleline.own_account.iban
    finally:
        kleline.close()
    path = tmp_path / "statement.xml"
    path.write_bytes(document(iban, line("NTRY-1", 1_234, "UNKNOWN-REF")))
    runner = CliRunner()

    first = runner.invoke(app, ["bank", "import", str(path)])
    again = runner.invoke(app, ["bank", "import", str(path), "--json"])

    assert first.exit_code == 0, first.output
    assert "imported: 0 matched, 1 in suspense, 0 duplicate(s)" in first.output
    assert "unknown_reference" in first.output
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["replayed"] is True
    path.write_bytes(b"<not-a-statement/>")
    refused = runner.invoke(app, ["bank", "import", str(path)])
    assert refused.exit_code == 1 and "not a camt.053 statement" in refused.output
    missing = runner.invoke(app, ["bank", "import", str(tmp_path / "nowhere.xml")])
    assert missing.exit_code == 2 and "cannot read" in missing.output


def test_kleline_bank_resolve_proposes_and_another_user_approves_it(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "240")
    monkeypatch.setenv("LOGNAME", "alice")
    kleline = build(load_settings())
    try:
        open_system_accounts(kleline)
        kleline.ledger.open_account("kleline:bank-interest", "EUR", NormalSide.CREDIT)
        iban = kleline.own_account.iban
    finally:
        kleline.close()
    path = tmp_path / "statement.xml"
    path.write_bytes(document(iban, line("NTRY-1", 321, None)))
    runner = CliRunner()
    assert runner.invoke(app, ["bank", "import", str(path)]).exit_code == 0
    kleline = build(load_settings())
    try:
        (item,) = kleline.suspense.items()[0]
    finally:
        kleline.close()

    two = runner.invoke(app, ["bank", "resolve", item.id, "--account", "kleline:bank-interest", "--dismiss"])
    assert two.exit_code == 1 and "name exactly one of" in two.output
    proposed = runner.invoke(
        app, ["bank", "resolve", item.id, "--account", "kleline:bank-interest", "--note", "January interest"]
    )
    assert proposed.exit_code == 0, proposed.output
    assert (
        f"resolve suspense item {item.id} (3.21 EUR credit) to account kleline:bank-interest (January interest)"
        in proposed.output
    )
    proposal = proposed.output.split(":", 1)[0]
    monkeypatch.setenv("LOGNAME", "bob")
    approved = runner.invoke(app, ["proposals", "approve", proposal])
    assert approved.exit_code == 0, approved.output

    kleline = build(load_settings())
    try:
        resolved = kleline.suspense.get(item.id)
        assert resolved.status == "resolved" and resolved.resolution is not None
        assert resolved.resolution.resolved_by == proposal
        assert kleline.ledger.balance("kleline:bank-interest").posted == 321
    finally:
        kleline.close()
