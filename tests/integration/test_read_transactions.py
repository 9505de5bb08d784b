"""Read-only blocks: on PostgreSQL plain reads run as autocommit statements (no BEGIN, no COMMIT); a block that
needs one state of the database for all its reads asks for a snapshot, and gets one on both backends."""

from __future__ import annotations

import pytest

from kleline.db.engine import Database, Read, one_row_reads

_INSERT = "INSERT INTO idempotency_records (id, request_mac, claim, created_at) VALUES (:id, :mac, :claim, 1)"


def _add(db: Database, n: int) -> None:
    with db.transaction() as tx:
        tx.execute(_INSERT, {"id": bytes([n]) * 32, "mac": b"m" * 32, "claim": b"c" * 16})


def _count(tx: object) -> int:
    return int(tx.fetchone("SELECT COUNT(*) FROM idempotency_records")[0])  # type: ignore[attr-defined]


def test_a_snapshot_sees_one_state_of_the_database_whatever_commits_meanwhile(db: Database) -> None:
    _add(db, 1)
    with db.transaction(write=False, snapshot=True) as tx:
        before = _count(tx)
        _add(db, 2)  # another transaction commits between the snapshot's two reads
        assert _count(tx) == before == 1
    with db.transaction(write=False) as tx:
        assert _count(tx) == 2


def test_plain_reads_see_each_commit_as_read_committed_statements_do(db: Database) -> None:
    if not db.is_postgres:
        pytest.skip("SQLite's read transaction is a snapshot anyway")
    with db.transaction(write=False) as tx:
        assert _count(tx) == 0
        _add(db, 1)
        assert _count(tx) == 1
        assert tx.connection.info.transaction_status.name == "IDLE"  # no transaction was ever opened


def test_a_read_only_block_refuses_to_set_a_transaction_it_does_not_have(db: Database) -> None:
    if not db.is_postgres:
        pytest.skip("the autocommit reads are PostgreSQL's")
    with pytest.raises(RuntimeError, match="snapshot=True"), db.transaction(write=False) as tx:
        tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def test_a_snapshot_is_for_reading_only(db: Database) -> None:
    with pytest.raises(ValueError, match="write=False"), db.transaction(snapshot=True):
        pass
    if db.is_postgres:
        with pytest.raises(Exception, match="read-only"), db.transaction(write=False, snapshot=True) as tx:
            tx.execute(_INSERT, {"id": b"x" * 32, "mac": b"m" * 32, "claim": b"c" * 16})


def _ids(rows: list[object]) -> list[bytes]:
    return [bytes(row[0]) for row in rows]  # type: ignore[index]


def test_reads_sent_together_come_back_decoded_each_in_its_order(db: Database) -> None:
    for n in (1, 2, 3):
        _add(db, n)
    newest = Read("SELECT id FROM idempotency_records ORDER BY id DESC LIMIT :n", {"n": 2}, _ids)
    count = Read("SELECT COUNT(*) FROM idempotency_records", {}, lambda rows: int(rows[0][0]))  # type: ignore[index]
    none = Read("SELECT id FROM idempotency_records WHERE id = :id", {"id": b"x"}, _ids)
    with db.transaction(write=False) as tx:
        assert tx.read_all(newest, count, none) == [[bytes([3]) * 32, bytes([2]) * 32], 3, []]
        assert tx.read_all(count) == [3] and tx.read(none) == []
    with db.transaction() as tx:  # in a write transaction, after a write not answered yet: it travels first
        tx.defer(_INSERT, {"id": bytes([4]) * 32, "mac": b"m" * 32, "claim": b"c" * 16})
        assert tx.read_all(count, newest) == [4, [bytes([4]) * 32, bytes([3]) * 32]]
    with db.transaction(write=False) as tx:
        assert tx.read(count) == 4


def test_a_failing_read_among_others_raises_and_the_transaction_is_undone(db: Database) -> None:
    count = Read("SELECT COUNT(*) FROM idempotency_records", {}, lambda rows: int(rows[0][0]))  # type: ignore[index]
    broken = Read("SELECT no_such_column FROM idempotency_records", {}, list)
    with pytest.raises(Exception, match="no_such_column"), db.transaction() as tx:
        tx.execute(_INSERT, {"id": bytes([5]) * 32, "mac": b"m" * 32, "claim": b"c" * 16})
        tx.read_all(count, broken, count)  # three reads: one pipeline on PostgreSQL
    with pytest.raises(Exception, match="no_such_column"), db.transaction(write=False) as tx:
        tx.read_all(count, broken)  # two: one after the other
    with db.transaction(write=False) as tx:
        assert tx.read(count) == 0  # the write before the failed reads was rolled back with them
        assert tx.read_all(count, count) == [0, 0]  # and the connection, back in the pool, still serves


def test_reads_of_one_row_joined_into_one_statement_keep_their_own_parameters_and_columns(db: Database) -> None:
    for n in (1, 2, 3):
        _add(db, n)
    among = "SELECT COUNT(*), 10 * COUNT(*) FROM idempotency_records WHERE id <= :id"
    upto_two = Read(among, {"id": bytes([2]) * 32}, lambda rows: (int(rows[0][0]), int(rows[0][1])), width=2)
    upto_one = Read(among, {"id": bytes([1]) * 32}, lambda rows: int(rows[0][1]), width=2)
    total = Read("SELECT COUNT(*) FROM idempotency_records", {}, lambda rows: int(rows[0][0]), width=1)
    with db.transaction(write=False) as tx:
        # The same parameter name with two values, in one statement: each read keeps its own.
        assert tx.read(one_row_reads(upto_two, total, upto_one)) == [(2, 20), 3, 10]
    with pytest.raises(ValueError, match="width"):
        one_row_reads(total, Read("SELECT 1", {}, list))
