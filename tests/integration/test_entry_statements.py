"""One entry's writes on SQLite: its postings in one statement, its balance moves in one, the guards unchanged.

Each statement there runs while the process holds the database's only write lock, so a payment's entry writes its
three postings and moves its three accounts in two statements rather than six. The floor trigger still checks every
row; two slots of one account still move one statement each, in lock order, as on PostgreSQL.
"""

import pytest

from kleline.db.engine import INTEGRITY_ERRORS, Database
from kleline.ledger import EntryRequest, Ledger, credit, debit
from kleline.ledger.store import SlotDelta, apply_deltas
from kleline.money import Money

from .helpers import book_snapshot, counted_statements, open_chart, transfer

PURSE = "customer:cus_1:purse"
OTHER_PURSE = "customer:cus_2:purse"
MERCHANT = "merchant:mer_1:balance"
COMMISSION = "kleline:commission"
CARDS = "card:visa:receivable"


def _account_id(db: Database, code: str) -> int:
    with db.transaction(write=False) as tx:
        return int(tx.fetchone("SELECT id FROM ledger_accounts WHERE code = :c", {"c": code})[0])


def _slots(db: Database, account_id: int) -> dict[int, int]:
    with db.transaction(write=False) as tx:
        rows = tx.fetchall("SELECT slot, balance FROM ledger_balances WHERE account_id = :a", {"a": account_id})
    return {int(slot): int(balance) for slot, balance in rows if balance}


def test_an_entry_of_three_legs_is_four_statements_on_sqlite_and_lands_exactly(ledger: Ledger) -> None:
    open_chart(ledger)
    ledger.post(transfer("fund", CARDS, PURSE, 1_000))
    payment = EntryRequest(
        "pay_1",
        (debit(PURSE, Money(1_000, "EUR")), credit(MERCHANT, Money(965, "EUR")), credit(COMMISSION, Money(35, "EUR"))),
        "payment captured",
    )
    with ledger.db.transaction() as tx, counted_statements(tx) as statements:
        ledger.post_in(tx, payment)
    if not ledger.db.is_postgres:
        assert [s.split()[0] + " " + s.split()[1] for s in statements] == [
            "UPDATE ledger_chains",
            "INSERT INTO",
            "INSERT INTO",
            "UPDATE ledger_balances",
        ], statements
    assert ledger.balance(PURSE).posted == 0
    assert ledger.balance(MERCHANT).posted == 965
    assert ledger.balance(COMMISSION).posted == 35
    with ledger.db.transaction(write=False) as tx:
        lines = tx.fetchall("SELECT line, amount FROM ledger_postings WHERE entry_id = 'pay_1' ORDER BY line")
    assert [(int(line), int(amount)) for line, amount in lines] == [(0, 1_000), (1, -965), (2, -35)]


def test_one_statement_of_moves_is_refused_whole_when_one_row_crosses_its_floor(ledger: Ledger) -> None:
    open_chart(ledger)
    ledger.post(transfer("fund-1", CARDS, PURSE, 100))
    ledger.post(transfer("fund-2", CARDS, OTHER_PURSE, 100))
    first, second, merchant = (_account_id(ledger.db, code) for code in (PURSE, OTHER_PURSE, MERCHANT))
    before = book_snapshot(ledger.db)
    with pytest.raises(INTEGRITY_ERRORS, match="floor crossed"), ledger.db.transaction() as tx:
        apply_deltas(tx, [SlotDelta(first, 0, -50, 0), SlotDelta(second, 0, -101, 0), SlotDelta(merchant, 0, 151, 0)])
    assert book_snapshot(ledger.db) == before
    with ledger.db.transaction() as tx:
        apply_deltas(tx, [SlotDelta(first, 0, -50, 0), SlotDelta(second, 0, -100, 0), SlotDelta(merchant, 2, 150, 0)])
    assert (ledger.balance(PURSE).posted, ledger.balance(OTHER_PURSE).posted) == (50, 0)
    assert ledger.balance(MERCHANT).posted == 150


def test_two_slots_of_one_account_move_in_lock_order(ledger: Ledger) -> None:
    # Slot 0 first: taking 60 from a purse holding 50 there is refused even though the same call credits another of
    # its slots with 100 (a move is checked against what is already posted, not what comes after it).
    open_chart(ledger)
    ledger.post(transfer("fund", CARDS, PURSE, 50))
    purse, cards = _account_id(ledger.db, PURSE), _account_id(ledger.db, CARDS)
    slots = _slots(ledger.db, purse)
    with pytest.raises(INTEGRITY_ERRORS, match="floor crossed"), ledger.db.transaction() as tx:
        apply_deltas(tx, [SlotDelta(purse, 5, 100, 0), SlotDelta(purse, 0, -60, 0), SlotDelta(cards, 0, -40, 0)])
    assert _slots(ledger.db, purse) == slots
