"""Read-only blocks: on PostgreSQL plain reads run as autocommit statements (no BEGIN, no COMMIT); a block that
needs one state of the database for all its reads asks for a snapshot, and gets one on both backends."""

from __future__ import annotations

import pytest

from kleline.db.engine import Database

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
