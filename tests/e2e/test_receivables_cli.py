"""``kleline receivables write-off`` end to end, on each backend, through ``KLELINE_DATABASE_URL``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kleline.bootstrap import build, open_system_accounts
from kleline.cli import app
from kleline.collections import BAD_DEBT_ACCOUNT, receivable_code
from kleline.config import load_settings
from kleline.money import Money
from kleline.payments.model import PaymentRequest

from ..operator_keys import OPERATOR


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose commands find the test database, with plain wide output."""
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "240")
    return CliRunner()


def customer_in_debt(database_url: str) -> str:
    """Ada's direct debit of 20 EUR comes back unpaid after she spent 15 EUR of it: she owes 15 EUR. Her id."""
    kleline = build(load_settings(database_url=database_url))
    try:
        open_system_accounts(kleline)
        ada = kleline.customers.sign_up("ada@example.org", "correct horse battery staple", "Ada Lovelace").id
        account = kleline.collections.bank_accounts.register(
            ada, "FR7630006000011234567890189", "Ada Lovelace", mandate_accepted=True
        )
        collection = kleline.collections.top_ups.top_up(ada, Money(2000, "EUR"), account.id).collection
        assert collection is not None
        shop, _ = kleline.merchants.register(name="Le Comptoir", email="shop@example.fr", iban="DE89370400440532013000")
        kleline.merchants.approve(shop.id, actor=OPERATOR)
        payment = kleline.payments.create(shop.id, PaymentRequest(Money(1500, "EUR")))
        assert kleline.payments.confirm(payment.id, ada, "purse").status == "succeeded"
        kleline.collections.runs.run(actor=OPERATOR)
        with kleline.db.transaction() as tx:
            found = kleline.collections.collection_by_end_to_end(tx, collection.id)
            assert found is not None
            kleline.collections.confirm_returned_in(tx, found, line_ref="stmt-1:1", reason="AM04")
        return ada
    finally:
        kleline.close()


def balances(database_url: str, ada: str) -> tuple[int, int]:
    kleline = build(load_settings(database_url=database_url))
    try:
        return kleline.ledger.balance(receivable_code(ada)).posted, kleline.ledger.balance(BAD_DEBT_ACCOUNT).posted
    finally:
        kleline.close()


def test_receivables_write_off_clears_a_debt_in_part_then_in_full(runner: CliRunner, database_url: str) -> None:
    ada = customer_in_debt(database_url)
    part = runner.invoke(app, ["receivables", "write-off", ada, "--amount", "400"])
    assert part.exit_code == 0, part.output
    assert "4.00 EUR written off" in part.output and "still owed: 11.00 EUR" in part.output
    rest = runner.invoke(app, ["receivables", "write-off", ada])
    assert rest.exit_code == 0, rest.output
    assert "11.00 EUR written off" in rest.output and "still owed: 0.00 EUR" in rest.output
    assert balances(database_url, ada) == (0, 1500)
    nothing = runner.invoke(app, ["receivables", "write-off", ada])
    assert nothing.exit_code == 1
    assert "owes nothing" in nothing.output
    assert balances(database_url, ada) == (0, 1500)
