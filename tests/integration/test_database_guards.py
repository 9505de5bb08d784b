"""The database enforces the ledger's invariants itself: writes that bypass the Python door are refused."""

import pytest

from kleline.db.engine import INTEGRITY_ERRORS, Database
from kleline.ledger import Ledger

from .helpers import book_snapshot, open_chart, transfer

PURSE = "customer:cus_1:purse"
CARDS = "card:visa:receivable"


def _account_id(db: Database, code: str) -> int:
    with db.transaction(write=False) as tx:
        return int(tx.fetchone("SELECT id FROM ledger_accounts WHERE code = :c", {"c": code})[0])


def _raw_entry(db: Database, entry_id: str, legs: list[tuple[int, int]]) -> None:
    with db.transaction() as tx:
        for line, (account_id, amount) in enumerate(legs):
            tx.execute(
                "INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount) "
                "VALUES (:e, :l, :a, 'EUR', :m)",
                {"e": entry_id, "l": line, "a": account_id, "m": amount},
            )
        tx.execute(
            "INSERT INTO ledger_entries (id, posted_at, description, metadata, content_hash, chain_shard, "
            "chain_seq, link_hash) VALUES (:e, 0, '', '{}', :h, 999, 1, :h)",
            {"e": entry_id, "h": b"x" * 32},
        )


def test_an_unbalanced_entry_written_behind_the_ledgers_back_is_refused(ledger: Ledger) -> None:
    open_chart(ledger)
    cards, purse = _account_id(ledger.db, CARDS), _account_id(ledger.db, PURSE)
    before = book_snapshot(ledger.db)
    with pytest.raises(INTEGRITY_ERRORS, match="unbalanced"):
        _raw_entry(ledger.db, "ent_raw", [(cards, 100), (purse, -99)])
    with pytest.raises(INTEGRITY_ERRORS, match="unbalanced"):
        _raw_entry(ledger.db, "ent_raw", [(cards, 100)])
    assert book_snapshot(ledger.db) == before
    _raw_entry(ledger.db, "ent_raw", [(cards, 100), (purse, -100)])  # a balanced one is accepted


def test_a_zero_posting_and_a_posting_in_the_wrong_currency_are_refused(ledger: Ledger) -> None:
    open_chart(ledger)
    cards, purse = _account_id(ledger.db, CARDS), _account_id(ledger.db, PURSE)
    with pytest.raises(INTEGRITY_ERRORS):
        _raw_entry(ledger.db, "ent_raw", [(cards, 0), (purse, 0)])
    with pytest.raises(INTEGRITY_ERRORS), ledger.db.transaction() as tx:
        tx.execute(
            "INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount) "
            "VALUES ('ent_x', 0, :a, 'USD', 5)",
            {"a": cards},
        )


def test_postings_cannot_be_added_to_a_posted_entry(ledger: Ledger) -> None:
    open_chart(ledger)
    ledger.post(transfer("ent_1", CARDS, PURSE, 100))
    cards = _account_id(ledger.db, CARDS)
    with pytest.raises(INTEGRITY_ERRORS, match="closed"), ledger.db.transaction() as tx:
        tx.execute(
            "INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount) "
            "VALUES ('ent_1', 9, :a, 'EUR', 5)",
            {"a": cards},
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET description = 'changed'",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_postings SET amount = amount * 2",
        "DELETE FROM ledger_postings",
    ],
)
def test_entries_and_postings_are_append_only(ledger: Ledger, statement: str) -> None:
    open_chart(ledger)
    ledger.post(transfer("ent_1", CARDS, PURSE, 100))
    with pytest.raises(INTEGRITY_ERRORS, match="append-only"), ledger.db.transaction() as tx:
        tx.execute(statement)


def test_a_balance_update_crossing_a_floor_is_refused_by_the_database(ledger: Ledger) -> None:
    open_chart(ledger)
    ledger.post(transfer("ent_1", CARDS, PURSE, 100))
    purse = _account_id(ledger.db, PURSE)
    with pytest.raises(INTEGRITY_ERRORS, match="floor crossed"), ledger.db.transaction() as tx:
        tx.execute(
            "UPDATE ledger_balances SET balance = balance - 101 WHERE account_id = :a AND slot = 0", {"a": purse}
        )
    with pytest.raises(INTEGRITY_ERRORS, match="floor crossed"), ledger.db.transaction() as tx:
        tx.execute("UPDATE ledger_balances SET held = held + 101 WHERE account_id = :a AND slot = 0", {"a": purse})
    with pytest.raises(INTEGRITY_ERRORS, match="floor crossed"), ledger.db.transaction() as tx:
        # Lowering a floored account anywhere but slot 0 is refused: it would escape the queue on slot 0.
        tx.execute("UPDATE ledger_balances SET balance = balance - 1 WHERE account_id = :a AND slot = 3", {"a": purse})
    assert ledger.balance(PURSE).posted == 100
