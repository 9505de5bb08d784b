"""Collection runs' SQL: taking the pending collections, the debits of a run's file, the stored file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from kleline.clock import from_epoch_us
from kleline.collections.model import CollectionRun, RunStatus
from kleline.db.engine import RawTx
from kleline.money import Money

__all__ = [
    "PendingCollection",
    "RunDebit",
    "complete_run",
    "find_open_run",
    "insert_run",
    "list_runs",
    "load_run",
    "mark_first_runs",
    "run_debits",
    "run_file",
    "set_totals",
    "submit_collections",
    "take_pending",
]

_RUN_COLUMNS = (
    "id, status, collection_date, collection_count, total, currency, created_at, completed_at, file IS NOT NULL"
)


@dataclass(frozen=True, slots=True)
class PendingCollection:
    """A collection waiting for a run, and whether its mandate was ever used (``first_run_id``)."""

    id: str
    bank_account_id: str
    first_run_id: str | None
    amount: int


@dataclass(frozen=True, slots=True)
class RunDebit:
    """What a run's file says of one collection: the debit and the mandate it is made under."""

    collection_id: str
    amount: Money
    sequence: str
    holder_name: str
    iban: str
    bic: str | None
    mandate_id: str
    mandate_signed_at: int


def _run(row: Sequence[Any]) -> CollectionRun:
    return CollectionRun(
        id=row[0],
        status=RunStatus(row[1]),
        collection_date=date.fromisoformat(row[2]),
        collection_count=int(row[3]),
        total=Money(int(row[4]), row[5]),
        created_at=from_epoch_us(int(row[6])),
        completed_at=None if row[7] is None else from_epoch_us(int(row[7])),
        has_file=bool(row[8]),
    )


def find_open_run(tx: RawTx) -> CollectionRun | None:
    """The run that took its collections and has no stored file yet (at most one exists), locked; or None."""
    suffix = " FOR UPDATE" if tx.is_postgres else ""
    row = tx.fetchone(f"SELECT {_RUN_COLUMNS} FROM collection_runs WHERE status = 'open'{suffix}")
    return None if row is None else _run(row)


def insert_run(tx: RawTx, run_id: str, collection_date: date, currency: str, created_at: int) -> None:
    """Open a run; the unique ``open_guard`` refuses a second open run, so two starts cannot both take
    collections."""
    tx.execute(
        "INSERT INTO collection_runs (id, status, open_guard, collection_date, currency, created_at) "
        "VALUES (:id, 'open', 1, :date, :currency, :at)",
        {"id": run_id, "date": collection_date.isoformat(), "currency": currency, "at": created_at},
    )


def take_pending(tx: RawTx, currency: str) -> list[PendingCollection]:
    """Every collection still waiting for a run, oldest first, locked for this transaction."""
    lock = " FOR UPDATE OF c" if tx.is_postgres else ""
    rows = tx.fetchall(
        "SELECT c.id, c.bank_account_id, b.first_run_id, c.amount FROM collections c "
        "JOIN bank_accounts b ON b.id = c.bank_account_id "
        f"WHERE c.status = 'pending' AND c.currency = :currency ORDER BY c.created_at, c.id{lock}",
        {"currency": currency},
    )
    return [PendingCollection(str(r[0]), str(r[1]), r[2], int(r[3])) for r in rows]


def submit_collections(tx: RawTx, run_id: str, sequences: Sequence[tuple[str, str]], at: int) -> None:
    """Put each (collection, sequence type) in the run: ``submitted`` from now on, in this run only."""
    tx.executemany(
        "UPDATE collections SET status = 'submitted', run_id = :run, sequence = :sequence, submitted_at = :at "
        "WHERE id = :id AND status = 'pending'",
        [{"run": run_id, "sequence": sequence, "at": at, "id": cid} for cid, sequence in sequences],
    )


def mark_first_runs(tx: RawTx, run_id: str, account_ids: Sequence[str]) -> None:
    """Remember that these bank accounts' mandates were first used in this run (their next debits are RCUR)."""
    tx.executemany(
        "UPDATE bank_accounts SET first_run_id = :run WHERE id = :id AND first_run_id IS NULL",
        [{"run": run_id, "id": account_id} for account_id in account_ids],
    )


def set_totals(tx: RawTx, run_id: str, count: int, total: int) -> None:
    """Record how many collections the run took and what they add up to."""
    tx.execute(
        "UPDATE collection_runs SET collection_count = :count, total = :total WHERE id = :id",
        {"count": count, "total": total, "id": run_id},
    )


def run_debits(tx: RawTx, run_id: str) -> list[RunDebit]:
    """The run's collections with their mandates, by id: the same list, in the same order, every time."""
    rows = tx.fetchall(
        "SELECT c.id, c.amount, c.currency, c.sequence, b.holder_name, b.iban, b.bic, b.mandate_id, "
        "b.mandate_signed_at FROM collections c JOIN bank_accounts b ON b.id = c.bank_account_id "
        "WHERE c.run_id = :run ORDER BY c.id",
        {"run": run_id},
    )
    return [RunDebit(str(r[0]), Money(int(r[1]), r[2]), str(r[3]), r[4], r[5], r[6], r[7], int(r[8])) for r in rows]


def complete_run(tx: RawTx, run_id: str, file: bytes | None, completed_at: int) -> bool:
    """Store the run's file and close it; False when another process completed it first."""
    cursor = tx.execute(
        "UPDATE collection_runs SET status = 'complete', open_guard = NULL, file = :file, completed_at = :at "
        "WHERE id = :id AND status = 'open'",
        {"file": file, "at": completed_at, "id": run_id},
    )
    return bool(cursor.rowcount)


def load_run(tx: RawTx, run_id: str) -> CollectionRun | None:
    """A run by id, or None."""
    row = tx.fetchone(f"SELECT {_RUN_COLUMNS} FROM collection_runs WHERE id = :id", {"id": run_id})
    return None if row is None else _run(row)


def list_runs(tx: RawTx, *, limit: int, after: str | None) -> list[CollectionRun]:
    """Runs newest first, after the ``after`` id."""
    clause = ""
    params: dict[str, object] = {"limit": limit}
    if after is not None:
        clause = (
            "WHERE (created_at < (SELECT created_at FROM collection_runs WHERE id = :after) OR "
            "(created_at = (SELECT created_at FROM collection_runs WHERE id = :after) AND id < :after))"
        )
        params["after"] = after
    rows = tx.fetchall(
        f"SELECT {_RUN_COLUMNS} FROM collection_runs {clause} ORDER BY created_at DESC, id DESC LIMIT :limit", params
    )
    return [_run(row) for row in rows]


def run_file(tx: RawTx, run_id: str) -> bytes | None:
    """The run's stored pain.008 file, or None."""
    row = tx.fetchone("SELECT file FROM collection_runs WHERE id = :id", {"id": run_id})
    return None if row is None or row[0] is None else bytes(row[0])
