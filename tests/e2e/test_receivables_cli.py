"""``kleline receivables write-off`` and ``kleline proposals`` end to end, on each backend, through
``KLELINE_DATABASE_URL``: one system user proposes, another approves."""

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


def as_user(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Run the next commands as system user ``name`` (the command line's actor)."""
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(variable, name)


def proposal_of(output: str) -> str:
    """The id of the proposal a command printed."""
    return output.split(":", 1)[0].strip()


def test_a_write_off_proposed_by_one_user_is_done_once_another_approves_it(
    runner: CliRunner, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = customer_in_debt(database_url)
    as_user(monkeypatch, "alice")
    part = runner.invoke(app, ["receivables", "write-off", ada, "--amount", "400"])
    assert part.exit_code == 0, part.output
    proposal = proposal_of(part.output)
    assert proposal.startswith("prop_") and f"write off 4.00 EUR of the 15.00 EUR {ada} owes" in part.output
    assert f"kleline proposals approve {proposal}" in part.output
    assert balances(database_url, ada) == (1500, 0)  # nothing yet

    own = runner.invoke(app, ["proposals", "approve", proposal])
    assert own.exit_code == 1 and "a second person must approve it" in own.output
    assert balances(database_url, ada) == (1500, 0)
    listed = runner.invoke(app, ["proposals", "list"])
    assert proposal in listed.output and "cli alice" in listed.output

    as_user(monkeypatch, "bob")
    approved = runner.invoke(app, ["proposals", "approve", proposal])
    assert approved.exit_code == 0, approved.output
    assert f"{proposal} is approved" in approved.output
    assert balances(database_url, ada) == (1100, 400)
    shown = runner.invoke(app, ["proposals", "show", proposal])
    assert "approved by cli bob" in shown.output and "proposed by cli alice" in shown.output
    assert '"outstanding": 1100' in shown.output

    rest = runner.invoke(app, ["receivables", "write-off", ada])
    assert rest.exit_code == 0 and "write off 11.00 EUR of the 11.00 EUR" in rest.output
    as_user(monkeypatch, "alice")
    assert runner.invoke(app, ["proposals", "approve", proposal_of(rest.output)]).exit_code == 0
    assert balances(database_url, ada) == (0, 1500)
    nothing = runner.invoke(app, ["receivables", "write-off", ada])
    assert nothing.exit_code == 1
    assert "owes nothing" in nothing.output
    assert balances(database_url, ada) == (0, 1500)


def test_a_proposal_is_withdrawn_by_its_proposer_and_rejected_by_another(
    runner: CliRunner, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = customer_in_debt(database_url)
    as_user(monkeypatch, "alice")
    first = proposal_of(runner.invoke(app, ["receivables", "write-off", ada]).output)
    again = runner.invoke(app, ["receivables", "write-off", ada])
    assert again.exit_code == 1 and f"proposal {first}" in again.output and "already waiting" in again.output
    as_user(monkeypatch, "bob")
    assert "only cli alice" in runner.invoke(app, ["proposals", "withdraw", first]).output
    as_user(monkeypatch, "alice")
    assert runner.invoke(app, ["proposals", "withdraw", first]).exit_code == 0
    second = proposal_of(runner.invoke(app, ["receivables", "write-off", ada, "--amount", "100"]).output)
    as_user(monkeypatch, "bob")
    rejected = runner.invoke(app, ["proposals", "reject", second, "--reason", "She will repay"])
    assert rejected.exit_code == 0, rejected.output
    history = runner.invoke(app, ["proposals", "list", "--all"])
    assert first in history.output and second in history.output and "She will repay" in history.output
    assert "withdrawn" in history.output and "rejected" in history.output
    assert balances(database_url, ada) == (1500, 0)
