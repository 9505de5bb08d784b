"""Deferred writes (``RawTx.defer``) and savepoints: sent late on PostgreSQL, never lost, undone exactly."""

from __future__ import annotations

import pytest

from kleline.db.engine import Database

from .helpers import count_rows

_INSERT = "INSERT INTO idempotency_records (id, request_mac, claim, created_at) VALUES (:id, :mac, :claim, 1)"


def _row(n: int) -> dict[str, bytes]:
    return {"id": bytes([n]) * 32, "mac": b"m" * 32, "claim": b"c" * 16}


def test_a_transaction_of_deferred_writes_alone_commits_them(db: Database) -> None:
    with db.transaction() as tx:
        tx.defer(_INSERT, _row(1))
        tx.defer(_INSERT, _row(2))
    assert count_rows(db, "idempotency_records") == 2


def test_a_savepoint_undoes_its_own_writes_and_keeps_those_before_it(db: Database) -> None:
    with db.transaction() as tx:
        tx.defer(_INSERT, _row(1))
        with pytest.raises(RuntimeError), tx.savepoint():
            tx.defer(_INSERT, _row(2))
            tx.execute("SELECT 1")  # sends what waited, so that the rollback must reach the server
            tx.defer(_INSERT, _row(3))
            raise RuntimeError("undo")
        with pytest.raises(RuntimeError), tx.savepoint():
            tx.defer(_INSERT, _row(4))  # never sent
            raise RuntimeError("undo")
        tx.defer(_INSERT, _row(5))
    with db.transaction(write=False) as tx:
        ids = sorted(bytes(row[0])[0] for row in tx.fetchall("SELECT id FROM idempotency_records"))
    assert ids == [1, 5]


def test_a_deferred_write_that_fails_rolls_back_its_whole_transaction(db: Database) -> None:
    with pytest.raises(Exception), db.transaction() as tx:  # noqa: B017, PT011 - the driver's own error
        tx.defer(_INSERT, _row(1))
        tx.defer(_INSERT, _row(1))  # the same key twice
    assert count_rows(db, "idempotency_records") == 0
