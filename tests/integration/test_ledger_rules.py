"""The ledger's rules: idempotency, precise refusals that write nothing, floors, accounts."""

import pytest

from kleline.ledger import (
    Account,
    AccountConflict,
    CurrencyMismatch,
    EntryConflict,
    EntryRequest,
    InsufficientFunds,
    Ledger,
    NormalSide,
    Posting,
    UnknownAccount,
)
from kleline.ledger.audit import verify

from .helpers import book_snapshot, open_chart, transfer

PURSE = "customer:cus_1:purse"
CARDS = "card:visa:receivable"
MERCHANT = "merchant:mer_1:balance"


def test_posting_the_same_entry_twice_applies_it_once(ledger: Ledger) -> None:
    open_chart(ledger)
    first = ledger.post(transfer("ent_1", CARDS, PURSE, 700))
    again = ledger.post(transfer("ent_1", CARDS, PURSE, 700))
    assert again.id == first.id
    assert again.posted_at == first.posted_at
    assert ledger.balance(PURSE).posted == 700


def test_reusing_an_entry_id_for_other_content_is_refused_and_writes_nothing(ledger: Ledger) -> None:
    open_chart(ledger)
    ledger.post(transfer("ent_1", CARDS, PURSE, 700))
    before = book_snapshot(ledger.db)
    with pytest.raises(EntryConflict, match="ent_1 was already posted with other content"):
        ledger.post(transfer("ent_1", CARDS, PURSE, 701))
    with pytest.raises(EntryConflict):
        ledger.post(transfer("ent_1", CARDS, PURSE, 700, "another description"))
    assert book_snapshot(ledger.db) == before


def test_an_unknown_account_is_named_and_nothing_is_written(ledger: Ledger) -> None:
    open_chart(ledger)
    before = book_snapshot(ledger.db)
    with pytest.raises(UnknownAccount, match="no account customer:cus_9:purse"):
        ledger.post(transfer("ent_1", CARDS, "customer:cus_9:purse", 100))
    assert book_snapshot(ledger.db) == before


def test_a_posting_in_another_currency_than_its_account_is_refused(ledger: Ledger) -> None:
    open_chart(ledger)
    ledger.open_account("card:visa:receivable-usd", "USD", NormalSide.DEBIT)
    before = book_snapshot(ledger.db)
    with pytest.raises(CurrencyMismatch, match="posting in USD to customer:cus_1:purse, which is in EUR"):
        ledger.post(
            EntryRequest("ent_1", (Posting("card:visa:receivable-usd", 100, "USD"), Posting(PURSE, -100, "USD")))
        )
    assert book_snapshot(ledger.db) == before


def test_a_spend_beyond_the_floor_is_refused_whole(ledger: Ledger) -> None:
    open_chart(ledger)
    ledger.post(transfer("ent_1", CARDS, PURSE, 1000))
    before = book_snapshot(ledger.db)
    with pytest.raises(InsufficientFunds, match="customer:cus_1:purse has insufficient funds") as caught:
        ledger.post(transfer("ent_2", PURSE, MERCHANT, 1001))
    assert caught.value.account == PURSE
    assert book_snapshot(ledger.db) == before
    ledger.post(transfer("ent_3", PURSE, MERCHANT, 1000))
    assert ledger.balance(PURSE).available == 0


def test_a_refused_entry_id_can_be_used_once_funds_arrive(ledger: Ledger) -> None:
    open_chart(ledger)
    with pytest.raises(InsufficientFunds):
        ledger.post(transfer("ent_pay", PURSE, MERCHANT, 500))
    ledger.post(transfer("ent_topup", CARDS, PURSE, 500))
    ledger.post(transfer("ent_pay", PURSE, MERCHANT, 500))
    assert ledger.balance(MERCHANT).posted == 500


def test_reopening_an_account_is_idempotent_but_other_attributes_conflict(ledger: Ledger) -> None:
    ledger.open_account("customer:cus_1:purse", "EUR", NormalSide.CREDIT, floor=0)
    ledger.open_account("customer:cus_1:purse", "EUR", NormalSide.CREDIT, floor=0)
    with pytest.raises(AccountConflict):
        ledger.open_account("customer:cus_1:purse", "EUR", NormalSide.CREDIT, floor=None)
    with pytest.raises(AccountConflict):
        ledger.open_account("customer:cus_1:purse", "USD", NormalSide.CREDIT, floor=0)
    assert len(ledger.accounts()) == 1


def test_many_accounts_open_together_as_each_would_alone(ledger: Ledger) -> None:
    ledger.open_account("merchant:mer_0:balance", "EUR", NormalSide.CREDIT, floor=0)
    wanted = [Account(f"merchant:mer_{i}:balance", "EUR", NormalSide.CREDIT, 0) for i in range(1200)]
    wanted += [
        Account("card:visa:receivable", "EUR", NormalSide.DEBIT, None),
        Account("fx:usd", "USD", NormalSide.DEBIT, -500),
    ]
    ledger.open_accounts(wanted)
    assert sorted(ledger.accounts(), key=lambda a: a.code) == sorted(wanted, key=lambda a: a.code)
    for account in (wanted[0], wanted[999], wanted[-2], wanted[-1]):
        balance = ledger.balance(account.code)
        assert (balance.posted, balance.held, balance.floor) == (0, 0, account.floor)
    ledger.post(transfer("ent_1", "card:visa:receivable", "merchant:mer_1100:balance", 700))
    assert ledger.balance("merchant:mer_1100:balance").posted == 700
    with ledger.db.transaction(write=False) as tx:
        slots = tx.fetchall("SELECT COUNT(*), COUNT(DISTINCT account_id) FROM ledger_balances")[0]
        floors = tx.fetchall(
            "SELECT DISTINCT b.floor FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id "
            "WHERE a.code = 'fx:usd'"
        )
    assert tuple(slots) == (8 * len(wanted), len(wanted))
    assert [tuple(f) for f in floors] == [(-500,)]
    ledger.open_accounts(wanted)  # again: nothing to open
    with pytest.raises(AccountConflict):
        ledger.open_accounts(
            [
                Account("merchant:mer_new:balance", "EUR", NormalSide.CREDIT, 0),
                Account("fx:usd", "USD", NormalSide.DEBIT, None),
            ]
        )
    assert len(ledger.accounts()) == len(wanted) + 1  # the new one opened, the conflicting one left as it was


def test_an_account_with_a_negative_floor_may_go_that_far(ledger: Ledger) -> None:
    open_chart(ledger)
    ledger.open_account("merchant:mer_2:balance", "EUR", NormalSide.CREDIT, floor=-5000)
    ledger.post(transfer("ent_1", "merchant:mer_2:balance", CARDS, 5000))
    with pytest.raises(InsufficientFunds):
        ledger.post(transfer("ent_2", "merchant:mer_2:balance", CARDS, 1))
    assert ledger.balance("merchant:mer_2:balance").posted == -5000


def test_books_verify_after_a_mixed_day(ledger: Ledger) -> None:
    open_chart(ledger)
    for i in range(40):
        ledger.post(transfer(f"ent_{i}", CARDS, PURSE, 100 + i))
    report = verify(ledger.db)
    assert report.ok, report.problems
    assert report.entries == 40
