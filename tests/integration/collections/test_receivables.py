"""Clearing what a customer owes after a returned direct debit: repaid from the purse, or written off by an operator
to Kleline's loss account. Each movement is one balanced entry, never more than owed, and once nothing is owed the
customer may top up by direct debit again."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from kleline.bootstrap import Kleline
from kleline.collections import (
    BAD_DEBT_ACCOUNT,
    AmountExceedsDebt,
    NothingOwed,
    PurseEmpty,
    ReceivableOutstanding,
    receivable_code,
)
from kleline.errors import NotFound, ValidationError
from kleline.ledger import Entry, InsufficientFunds
from kleline.ledger.audit import trial_balance, verify
from kleline.money import Money
from kleline.staff.audit import AuditFilters, search
from kleline.wallet.customers import purse_code

from ...operator_keys import OPERATOR
from .conftest import balance, bank_account, customer, eur, pay_from_purse, returned, top_up


def legs(entry: Entry) -> set[tuple[str, int]]:
    return {(p.account, p.amount) for p in entry.postings}


def in_debt(kleline: Kleline, owed: int = 1500) -> tuple[str, str]:
    """Ada tops up 20 EUR by direct debit, spends ``owed`` cents of it, and the debit comes back unpaid: she owes
    ``owed`` cents and her purse is empty. (customer id, bank account id)"""
    ada = customer(kleline)
    account = bank_account(kleline, ada)
    collection = top_up(kleline, ada, account.id, 2000)
    pay_from_purse(kleline, ada, owed)
    kleline.collections.runs.run(actor=OPERATOR)
    returned(kleline, collection.id)
    assert (balance(kleline, receivable_code(ada)), balance(kleline, purse_code(ada))) == (owed, 0)
    return ada, account.id


def card_top_up(kleline: Kleline, customer_id: str, minor: int) -> None:
    """Money in the purse from a card, which a debt does not stop."""
    cards = kleline.cards.list(customer_id)
    card = cards[0] if cards else kleline.cards.register(customer_id, "4242424242424242", 12, 2030, "123", "Ada")
    assert kleline.top_ups.top_up(customer_id, eur(minor), card.id).status == "succeeded"


def unchanged(kleline: Kleline, customer_id: str, owed: int, purse: int) -> None:
    assert balance(kleline, receivable_code(customer_id)) == owed
    assert balance(kleline, purse_code(customer_id)) == purse
    assert trial_balance(kleline.db).balanced


def test_a_repayment_takes_what_the_purse_has_until_the_debt_is_cleared(kleline: Kleline) -> None:
    ada, account_id = in_debt(kleline, 1500)
    card_top_up(kleline, ada, 1000)
    first = kleline.collections.debts.repay(ada)
    assert (first.kind, first.amount, first.outstanding, first.customer_id) == ("repayment", eur(1000), eur(500), ada)
    assert legs(kleline.ledger.entry(first.id)) == {(purse_code(ada), 1000), (receivable_code(ada), -1000)}
    unchanged(kleline, ada, owed=500, purse=0)
    with pytest.raises(ReceivableOutstanding):  # half repaid is still a debt
        kleline.collections.top_ups.top_up(ada, eur(1000), account_id)
    card_top_up(kleline, ada, 2000)
    second = kleline.collections.debts.repay(ada)
    assert (second.amount, second.outstanding) == (eur(500), eur(0))
    unchanged(kleline, ada, owed=0, purse=1500)
    assert kleline.collections.receivables() == ([], False)
    top_up(kleline, ada, account_id, 1000)  # nothing owed: direct debits again
    assert balance(kleline, purse_code(ada)) == 2500
    assert verify(kleline.db).ok


def test_a_repayment_of_a_given_amount_is_never_more_than_owed_nor_than_the_purse_has(kleline: Kleline) -> None:
    ada, _ = in_debt(kleline, 1500)
    card_top_up(kleline, ada, 3000)
    with pytest.raises(AmountExceedsDebt) as above_debt:
        kleline.collections.debts.repay(ada, eur(1501))
    assert (above_debt.value.status, above_debt.value.code, above_debt.value.param) == (
        400,
        "amount_exceeds_debt",
        "amount",
    )
    pay_from_purse(kleline, ada, 2500)  # 5 EUR left in the purse
    with pytest.raises(InsufficientFunds):
        kleline.collections.debts.repay(ada, eur(501))
    for bad in (eur(0), eur(-5), Money(100, "USD")):
        with pytest.raises(ValidationError):
            kleline.collections.debts.repay(ada, bad)
    unchanged(kleline, ada, owed=1500, purse=500)
    repaid = kleline.collections.debts.repay(ada, eur(300))
    assert (repaid.amount, repaid.outstanding) == (eur(300), eur(1200))
    unchanged(kleline, ada, owed=1200, purse=200)


def test_a_repayment_from_an_empty_purse_is_refused_and_writes_nothing(kleline: Kleline) -> None:
    ada, _ = in_debt(kleline, 1500)
    before = len(kleline.ledger.history(receivable_code(ada)))
    with pytest.raises(PurseEmpty) as refused:
        kleline.collections.debts.repay(ada)
    assert (refused.value.status, refused.value.code) == (409, "purse_empty")
    unchanged(kleline, ada, owed=1500, purse=0)
    assert len(kleline.ledger.history(receivable_code(ada))) == before


def test_an_operator_writes_the_debt_off_to_kleline_s_loss_account(kleline: Kleline) -> None:
    ada, account_id = in_debt(kleline, 1500)
    part = kleline.collections.debts.write_off(ada, eur(400), actor=OPERATOR)
    assert (part.kind, part.amount, part.outstanding) == ("write_off", eur(400), eur(1100))
    entry = kleline.ledger.entry(part.id)
    assert legs(entry) == {(BAD_DEBT_ACCOUNT, 400), (receivable_code(ada), -400)}
    assert (entry.metadata["customer"], entry.metadata["operator"]) == (ada, "cli tests")
    (record,) = search(kleline.db, AuditFilters(subject_id=ada)).records
    assert (record.action, record.before, record.after) == (
        "receivable_written_off",
        {"owed": 1500, "currency": "EUR"},
        {"owed": 1100, "currency": "EUR", "entry_id": part.id},
    )
    with pytest.raises(AmountExceedsDebt):
        kleline.collections.debts.write_off(ada, eur(1101), actor=OPERATOR)
    rest = kleline.collections.debts.write_off(ada, actor=OPERATOR)
    assert (rest.amount, rest.outstanding) == (eur(1100), eur(0))
    assert balance(kleline, BAD_DEBT_ACCOUNT) == 1500
    unchanged(kleline, ada, owed=0, purse=0)
    assert kleline.collections.receivables() == ([], False)
    top_up(kleline, ada, account_id, 1000)  # the debt is cleared: direct debits again
    assert verify(kleline.db).ok


def test_a_customer_who_owes_nothing_has_nothing_to_clear(kleline: Kleline) -> None:
    never = customer(kleline, "never@example.org")  # no bank account: no receivable account either
    ada = customer(kleline)
    top_up(kleline, ada, bank_account(kleline, ada).id, 1000)
    card_top_up(kleline, ada, 1000)
    debts = kleline.collections.debts
    for customer_id in (never, ada):
        with pytest.raises(NothingOwed) as refused:
            debts.repay(customer_id)
        assert (refused.value.status, refused.value.code) == (409, "nothing_owed")
        with pytest.raises(NothingOwed):
            debts.write_off(customer_id, actor=OPERATOR)
    with pytest.raises(NotFound):
        debts.write_off("cus_unknown", actor=OPERATOR)
    assert balance(kleline, receivable_code(ada)) == 0
    assert balance(kleline, purse_code(ada)) == 2000


def test_clearings_at_the_same_moment_never_clear_more_than_is_owed(kleline: Kleline) -> None:
    """The receivable account has no floor: only the customer's lock keeps two clearings from both reading the
    whole debt and each clearing it."""
    ada, _ = in_debt(kleline, 1500)
    card_top_up(kleline, ada, 1000)
    debts = kleline.collections.debts

    def clear(index: int) -> int:
        try:
            done = debts.repay(ada) if index % 2 else debts.write_off(ada, actor=OPERATOR)
        except (NothingOwed, PurseEmpty):
            return 0  # another clearing took it all first; anything else fails the test
        return done.amount.minor

    with ThreadPoolExecutor(4) as pool:
        cleared = list(pool.map(clear, range(6)))
    assert sum(cleared) == 1500
    assert balance(kleline, receivable_code(ada)) == 0
    assert balance(kleline, BAD_DEBT_ACCOUNT) + (1000 - balance(kleline, purse_code(ada))) == 1500
    assert trial_balance(kleline.db).balanced
