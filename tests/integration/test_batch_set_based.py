"""A batch is written set-based (one ``COPY`` per table on PostgreSQL), and the database still guards every row."""

import psycopg
import pytest

from kleline.db.engine import INTEGRITY_ERRORS, RawTx
from kleline.ledger import EntryRequest, Ledger
from kleline.ledger.audit import verify

from .helpers import book_snapshot, count_rows, open_chart, transfer

PURSE = "customer:cus_1:purse"
CARDS = "card:visa:receivable"

AWKWARD = ["tab\there", "line\nbreak", "carriage\rreturn", "back\\slash", "\\.", "\\N", "\\x00ff", "naïve €", ""]


def test_a_batch_keeps_descriptions_and_metadata_with_copy_control_characters_intact(ledger: Ledger) -> None:
    open_chart(ledger)
    requests = [
        EntryRequest(
            f"odd_{i}",
            transfer(f"odd_{i}", CARDS, PURSE, 100 + i).postings,
            text,
            {"note": text, "n": i, "flag": True, "none": None},
        )
        for i, text in enumerate(AWKWARD)
    ]
    assert all(result.ok for result in ledger.post_batch(requests))
    for request in requests:
        stored = ledger.entry(request.id)
        assert stored.same_request(request)
    report = verify(ledger.db)
    assert report.ok, report.problems
    assert report.entries == len(AWKWARD)


def test_the_database_checks_a_whole_batch_balanced_in_one_trigger_call(ledger: Ledger) -> None:
    """Not 200 calls of a row trigger at commit: the guard runs once per statement, over its transition table."""
    if not ledger.db.is_postgres:
        pytest.skip("SQLite has row triggers only; its balance check is an index probe per entry")
    open_chart(ledger)
    with ledger.db.transaction() as tx:
        tx.execute("SET LOCAL track_functions = 'pl'")
        results = ledger.post_batch_in(tx, [transfer(f"many_{i}", CARDS, PURSE, 10) for i in range(200)])
        tx.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run any deferred row trigger now, so that it is counted
        calls = tx.fetchall(
            "SELECT funcname, calls FROM pg_stat_xact_user_functions WHERE funcname LIKE 'kleline_entr%balanced'"
        )
    assert all(result.ok for result in results)
    assert sum(count for _, count in calls) == 1, calls


def test_one_statement_of_many_entries_behind_the_ledgers_back_is_refused_for_one_unbalanced_entry(
    ledger: Ledger,
) -> None:
    open_chart(ledger)
    with ledger.db.transaction(write=False) as tx:
        ids = dict(tx.fetchall("SELECT code, id FROM ledger_accounts"))
    before = book_snapshot(ledger.db)
    for bad in range(3):
        with pytest.raises(INTEGRITY_ERRORS, match="unbalanced"), ledger.db.transaction() as tx:
            for n in range(3):
                for line, (code, amount) in enumerate(((CARDS, 100), (PURSE, -100 if n != bad else -99))):
                    tx.execute(
                        "INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount) "
                        "VALUES (:e, :l, :a, 'EUR', :m)",
                        {"e": f"raw_{n}", "l": line, "a": ids[code], "m": amount},
                    )
            tx.execute(
                "INSERT INTO ledger_entries (id, posted_at, description, metadata, content_hash, chain_shard, "
                "chain_seq, link_hash) VALUES ('raw_0', 0, '', '{}', :h, 999, 1, :h), "
                "('raw_1', 0, '', '{}', :h, 999, 2, :h), ('raw_2', 0, '', '{}', :h, 999, 3, :h)",
                {"h": b"x" * 32},
            )
    assert book_snapshot(ledger.db) == before


def test_the_database_checks_a_whole_batchs_accounts_in_one_trigger_call(ledger: Ledger) -> None:
    """PostgreSQL checks postings' accounts once per statement over the inserted rows, not by a foreign key row by
    row (2,000 referential checks and account locks for 1,000 transfers); their entries too (no foreign key left)."""
    if not ledger.db.is_postgres:
        pytest.skip("SQLite's foreign key is an index probe per posting inside the writing process")
    open_chart(ledger)
    with ledger.db.transaction() as tx:
        tx.execute("SET LOCAL track_functions = 'pl'")
        results = ledger.post_batch_in(tx, [transfer(f"many_{i}", CARDS, PURSE, 10) for i in range(200)])
        calls = tx.fetchall(
            "SELECT funcname, calls FROM pg_stat_xact_user_functions WHERE funcname = 'kleline_postings_accounts'"
        )
        keys = tx.fetchall(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'ledger_postings'::regclass AND contype = 'f'"
        )
    assert all(result.ok for result in results)
    assert calls == [("kleline_postings_accounts", 1)]
    assert keys == []


def test_a_posting_to_no_account_is_refused_among_good_ones(ledger: Ledger) -> None:
    open_chart(ledger)
    with ledger.db.transaction(write=False) as tx:
        ids = dict(tx.fetchall("SELECT code, id FROM ledger_accounts"))
    before = book_snapshot(ledger.db)
    for account_id, currency in ((max(ids.values()) + 1, "EUR"), (ids[PURSE], "USD")):
        with pytest.raises(INTEGRITY_ERRORS), ledger.db.transaction() as tx:
            tx.executemany(
                "INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount) "
                "VALUES (:e, :l, :a, :c, :m)",
                [
                    {"e": "raw_0", "l": 0, "a": ids[CARDS], "c": "EUR", "m": 100},
                    {"e": "raw_0", "l": 1, "a": ids[PURSE], "c": "EUR", "m": -100},
                    {"e": "raw_1", "l": 0, "a": ids[CARDS], "c": "EUR", "m": 100},
                    {"e": "raw_1", "l": 1, "a": account_id, "c": currency, "m": -100},
                ],
            )
            tx.execute(
                "INSERT INTO ledger_entries (id, posted_at, description, metadata, content_hash, chain_shard, "
                "chain_seq, link_hash) VALUES ('raw_0', 0, '', '{}', :h, 999, 1, :h), "
                "('raw_1', 0, '', '{}', :h, 999, 2, :h)",
                {"h": b"x" * 32},
            )
    assert book_snapshot(ledger.db) == before


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM ledger_accounts WHERE id = :a",
        "UPDATE ledger_accounts SET currency = 'USD' WHERE id = :a",
        "UPDATE ledger_accounts SET id = id + 1000 WHERE id = :a",
    ],
)
def test_an_account_with_postings_is_never_deleted_nor_rekeyed(ledger: Ledger, statement: str) -> None:
    open_chart(ledger)
    ledger.post(transfer("ent_1", CARDS, PURSE, 100))
    with ledger.db.transaction(write=False) as tx:
        purse = tx.fetchone("SELECT id FROM ledger_accounts WHERE code = :c", {"c": PURSE})[0]
    before = book_snapshot(ledger.db)
    with pytest.raises(INTEGRITY_ERRORS), ledger.db.transaction() as tx:
        tx.execute(statement, {"a": purse})
    assert book_snapshot(ledger.db) == before
    assert ledger.balance(PURSE).posted == 100


def test_postings_whose_entry_never_comes_are_refused_at_commit(ledger: Ledger) -> None:
    """Postings may precede their entry within a transaction, never outlive it without one."""
    open_chart(ledger)
    ledger.post(transfer("ent_1", CARDS, PURSE, 100))
    with ledger.db.transaction(write=False) as tx:
        ids = dict(tx.fetchall("SELECT code, id FROM ledger_accounts"))
    before = book_snapshot(ledger.db)
    with pytest.raises(INTEGRITY_ERRORS), ledger.db.transaction() as tx:
        tx.executemany(
            "INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount) VALUES (:e, :l, :a, 'EUR', :m)",
            [
                {"e": "ent_2", "l": 0, "a": ids[CARDS], "m": 100},
                {"e": "ent_2", "l": 1, "a": ids[PURSE], "m": -100},
                {"e": "ent_orphan", "l": 0, "a": ids[CARDS], "m": 5},
            ],
        )
        tx.execute(
            "INSERT INTO ledger_entries (id, posted_at, description, metadata, content_hash, chain_shard, "
            "chain_seq, link_hash) VALUES ('ent_2', 0, '', '{}', :h, 999, 1, :h)",
            {"h": b"x" * 32},
        )
    assert book_snapshot(ledger.db) == before


def _function_calls(tx: RawTx, *names: str) -> dict[str, int]:
    rows = tx.fetchall(
        "SELECT funcname, calls FROM pg_stat_xact_user_functions WHERE funcname = ANY(:names)", {"names": list(names)}
    )
    return {name: 0 for name in names} | {str(name): int(calls) for name, calls in rows}


def test_a_batch_is_written_in_one_statement_that_leaves_nothing_to_check_at_commit(ledger: Ledger) -> None:
    """Not 400 referential checks (and entry locks) at commit: the batch's postings find their entries written by the
    same statement."""
    if not ledger.db.is_postgres:
        pytest.skip("SQLite's foreign key is an index probe per posting inside the writing process")
    open_chart(ledger)
    with ledger.db.transaction() as tx:
        tx.execute("SET LOCAL track_functions = 'pl'")
        results = ledger.post_batch_in(tx, [transfer(f"many_{i}", CARDS, PURSE, 10) for i in range(200)])
        tx.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run any deferred check now, so that it is counted
        calls = _function_calls(tx, "kleline_postings_entries", "kleline_postings_entered")
    assert all(result.ok for result in results)
    assert calls == {"kleline_postings_entries": 1, "kleline_postings_entered": 0}
    assert verify(ledger.db).ok


def test_many_postings_written_before_their_entries_find_them_in_one_check_at_commit(ledger: Ledger) -> None:
    """Behind the ledger's back, postings may come a statement before their entries: one deferred check covers
    the statement's postings, whatever their number."""
    if not ledger.db.is_postgres:
        pytest.skip("SQLite's foreign key is an index probe per posting inside the writing process")
    open_chart(ledger)
    with ledger.db.transaction(write=False) as tx:
        ids = dict(tx.fetchall("SELECT code, id FROM ledger_accounts"))
    with ledger.db.transaction() as tx:
        tx.execute("SET LOCAL track_functions = 'pl'")
        tx.execute(
            "INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount) "
            "SELECT 'raw_' || n, line, CASE line WHEN 0 THEN :cards ELSE :purse END, 'EUR', "
            "CASE line WHEN 0 THEN 10 ELSE -10 END FROM generate_series(1, 100) n, generate_series(0, 1) line",
            {"cards": ids[CARDS], "purse": ids[PURSE]},
        )
        tx.execute(
            "INSERT INTO ledger_entries (id, posted_at, description, metadata, content_hash, chain_shard, chain_seq, "
            "link_hash) SELECT 'raw_' || n, 0, '', '{}', :h, 999, n, :h FROM generate_series(1, 100) n",
            {"h": b"x" * 32},
        )
        tx.execute("SET CONSTRAINTS ALL IMMEDIATE")
        calls = _function_calls(tx, "kleline_postings_entries", "kleline_postings_entered")
    assert calls == {"kleline_postings_entries": 1, "kleline_postings_entered": 1}
    assert count_rows(ledger.db, "ledger_postings") == 200
    assert count_rows(ledger.db, "ledger_postings_unentered") == 0


def test_a_single_entry_written_in_one_statement_leaves_nothing_to_check_at_commit(ledger: Ledger) -> None:
    if not ledger.db.is_postgres:
        pytest.skip("PostgreSQL only: kleline_post_entry")
    open_chart(ledger)
    with ledger.db.transaction() as tx:
        tx.execute("SET LOCAL track_functions = 'pl'")
        ledger.post_in(tx, transfer("ent_1", CARDS, PURSE, 100))
        tx.execute("SET CONSTRAINTS ALL IMMEDIATE")
        calls = _function_calls(tx, "kleline_postings_entries", "kleline_postings_entered")
    assert calls == {"kleline_postings_entries": 1, "kleline_postings_entered": 0}
    assert ledger.balance(PURSE).posted == 100
    assert verify(ledger.db).ok


def _raw_postings(tx: RawTx, ids: dict[str, int], entry_id: str, first_line: int = 0) -> None:
    tx.execute(
        "INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount) "
        "VALUES (:e, :l0, :cards, 'EUR', 100), (:e, :l1, :purse, 'EUR', -100)",
        {"e": entry_id, "l0": first_line, "l1": first_line + 1, "cards": ids[CARDS], "purse": ids[PURSE]},
    )


@pytest.mark.parametrize(
    "clear",
    [
        "DELETE FROM ledger_postings_unentered",
        "UPDATE ledger_postings_unentered SET first_id = 0, last_id = 0",
        "TRUNCATE ledger_postings_unentered",
        "SET CONSTRAINTS ALL IMMEDIATE",
    ],
)
def test_postings_without_their_entry_are_refused_whatever_becomes_of_their_pending_check(
    ledger: Ledger, clear: str
) -> None:
    if not ledger.db.is_postgres:
        pytest.skip("PostgreSQL only: SQLite checks each posting's entry by a foreign key")
    open_chart(ledger)
    with ledger.db.transaction(write=False) as tx:
        ids = dict(tx.fetchall("SELECT code, id FROM ledger_accounts"))
    before = book_snapshot(ledger.db)
    # TRUNCATE is refused at once: a deferred check is pending on the row it would remove.
    with pytest.raises((*INTEGRITY_ERRORS, psycopg.errors.ObjectInUse)), ledger.db.transaction() as tx:
        _raw_postings(tx, ids, "ent_orphan")
        tx.execute(clear)
    assert book_snapshot(ledger.db) == before
    assert count_rows(ledger.db, "ledger_postings_unentered") == 0


_ENTRY_WITH_POSTINGS = (
    "WITH added AS (INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount) "
    "VALUES (:e, :l0, :cards, 'EUR', 100), (:e, :l1, :purse, 'EUR', -100)) "
    "INSERT INTO ledger_entries (id, posted_at, description, metadata, content_hash, chain_shard, chain_seq, "
    "link_hash) VALUES (:e, 0, '', '{}', :h, 999, :seq, :h)"
)


def test_an_entry_written_with_its_postings_in_one_statement_is_accepted_then_closed(ledger: Ledger) -> None:
    if not ledger.db.is_postgres:
        pytest.skip("PostgreSQL only: statements with several writes")
    open_chart(ledger)
    with ledger.db.transaction(write=False) as tx:
        ids = dict(tx.fetchall("SELECT code, id FROM ledger_accounts"))
    params = {"cards": ids[CARDS], "purse": ids[PURSE], "h": b"x" * 32}
    with ledger.db.transaction() as tx:
        tx.execute(_ENTRY_WITH_POSTINGS, {**params, "e": "raw_1", "l0": 0, "l1": 1, "seq": 1})
    assert count_rows(ledger.db, "ledger_postings_unentered") == 0
    before = book_snapshot(ledger.db)
    with pytest.raises(INTEGRITY_ERRORS, match="closed"), ledger.db.transaction() as tx:
        _raw_postings(tx, ids, "raw_1", first_line=2)  # a balanced pair added later, in its own statement
    with pytest.raises(INTEGRITY_ERRORS, match="closed"), ledger.db.transaction() as tx:
        _raw_postings(tx, ids, "raw_2")  # an entry's postings before the statement that writes it with more
        tx.execute(_ENTRY_WITH_POSTINGS, {**params, "e": "raw_2", "l0": 2, "l1": 3, "seq": 2})
    assert book_snapshot(ledger.db) == before
