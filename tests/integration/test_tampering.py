"""Tampering with stored history is detected by ``verify`` (and ``kleline ledger verify``), entry by entry."""

from collections.abc import Iterator

import pytest

from kleline.db.engine import Database
from kleline.ledger import Ledger
from kleline.ledger.audit import verify

from .helpers import open_chart, transfer

PURSE = "customer:cus_1:purse"
CARDS = "card:visa:receivable"


def _as_attacker(db: Database, statement: str, params: dict[str, object]) -> None:
    """Run a statement with the append-only triggers out of the way, as someone with database access could."""
    with db.transaction() as tx:
        if db.is_postgres:
            tx.execute("SET LOCAL session_replication_role = replica")  # triggers and foreign keys off
            tx.execute(statement, params)
        else:
            triggers = tx.fetchall(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND (name LIKE 'ledger_entries%' "
                "OR name LIKE 'ledger_postings%')"
            )
            for name, _ in triggers:
                tx.execute(f"DROP TRIGGER {name}")
            tx.execute(statement, params)
            for _, sql in triggers:
                tx.execute(sql)


@pytest.fixture
def books(ledger: Ledger) -> Iterator[Ledger]:
    open_chart(ledger)
    for i in range(12):
        ledger.post(transfer(f"ent_{i}", CARDS, PURSE, 100 + i, f"top-up {i}"))
    assert verify(ledger.db).ok
    yield ledger


def test_an_edited_description_is_named(books: Ledger) -> None:
    _as_attacker(books.db, "UPDATE ledger_entries SET description = 'nothing to see' WHERE id = 'ent_5'", {})
    report = verify(books.db)
    assert not report.ok
    assert any("entry ent_5: content does not match its hash" in p for p in report.problems)
    assert all("ent_5" in p for p in report.problems)


def test_an_edited_amount_is_named_even_when_balances_are_fixed_up(books: Ledger) -> None:
    _as_attacker(books.db, "UPDATE ledger_postings SET amount = amount + 50 WHERE entry_id = 'ent_3' AND line = 0", {})
    _as_attacker(books.db, "UPDATE ledger_postings SET amount = amount - 50 WHERE entry_id = 'ent_3' AND line = 1", {})
    with books.db.transaction() as tx:
        tx.execute("UPDATE ledger_balances SET balance = balance + 50 WHERE slot = 0")
    report = verify(books.db)
    assert any("entry ent_3: content does not match its hash" in p for p in report.problems)


def test_a_recomputed_hash_still_breaks_the_chain(books: Ledger) -> None:
    from kleline.ledger.chain import content_hash
    from kleline.ledger.model import Posting

    entry = books.entry("ent_7")
    forged = content_hash(
        "ent_7", 0, entry.description, {}, [Posting(p.account, p.amount, p.currency) for p in entry.postings]
    )
    _as_attacker(
        books.db, "UPDATE ledger_entries SET posted_at = 0, content_hash = :h WHERE id = 'ent_7'", {"h": forged}
    )
    report = verify(books.db)
    assert any("entry ent_7: chain link broken" in p for p in report.problems)


def test_a_deleted_entry_is_detected(books: Ledger) -> None:
    _as_attacker(books.db, "DELETE FROM ledger_postings WHERE entry_id = 'ent_4'", {})
    _as_attacker(books.db, "DELETE FROM ledger_entries WHERE id = 'ent_4'", {})
    report = verify(books.db)
    assert not report.ok
    assert any("missing" in p or "head" in p for p in report.problems)
    assert any(PURSE in p for p in report.problems)  # its balance no longer matches its postings


def test_a_deleted_posting_is_named(books: Ledger) -> None:
    _as_attacker(books.db, "DELETE FROM ledger_postings WHERE entry_id = 'ent_9' AND line = 1", {})
    report = verify(books.db)
    assert any(p.startswith("entry ent_9:") for p in report.problems)


def test_a_long_run_of_deleted_entries_does_not_hide_the_entries_after_it(ledger: Ledger) -> None:
    from kleline.ledger.audit_store import iter_chain

    open_chart(ledger)
    books = Ledger(ledger.db, chain_shards=1)
    for i in range(30):
        books.post(transfer(f"ent_{i}", CARDS, PURSE, 10))
    _as_attacker(ledger.db, "DELETE FROM ledger_postings WHERE entry_id IN ('ent_3', 'ent_4', 'ent_5', 'ent_6')", {})
    _as_attacker(ledger.db, "DELETE FROM ledger_entries WHERE id IN ('ent_3', 'ent_4', 'ent_5', 'ent_6')", {})
    with ledger.db.transaction(write=False) as tx:
        walked = [columns[0] for columns, _ in iter_chain(tx, 0, page=2)]
    assert walked == [f"ent_{i}" for i in range(30) if i not in (3, 4, 5, 6)]
    report = verify(ledger.db)
    assert any("entries 4..7 are missing before entry ent_7" in p for p in report.problems)
