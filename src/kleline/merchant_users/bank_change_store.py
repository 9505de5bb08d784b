"""The SQL of bank account changes (``merchant_bank_changes``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import RawTx, Read
from kleline.merchant_users.model import BankAccountChange

__all__ = [
    "count_pending",
    "decide",
    "find_change",
    "insert_change",
    "latest_decided",
    "list_changes",
    "pending_change",
    "queue",
    "shown_change",
]

_COLUMNS = (
    "c.id, c.merchant_id, c.iban, c.bic, c.status, c.requested_by, c.requested_at, c.decided_by, c.decided_at, "
    "c.reason, c.previous_iban, c.previous_bic, u.name"
)
_FROM = "FROM merchant_bank_changes c LEFT JOIN merchant_users u ON u.id = c.requested_by"


def _change(row: Sequence[Any]) -> BankAccountChange:
    return BankAccountChange(
        id=row[0],
        merchant_id=row[1],
        iban=row[2],
        bic=row[3],
        status=row[4],
        requested_by=row[5],
        requested_at=from_epoch_us(int(row[6])),
        decided_by=row[7],
        decided_at=None if row[8] is None else from_epoch_us(int(row[8])),
        reason=row[9],
        previous_iban=row[10],
        previous_bic=row[11],
        requested_by_name=row[12],
    )


def insert_change(tx: RawTx, change: BankAccountChange) -> None:
    """Record a new pending change (the partial unique index refuses a second pending one for the merchant)."""
    tx.execute(
        "INSERT INTO merchant_bank_changes (id, merchant_id, iban, bic, status, requested_by, requested_at) "
        "VALUES (:id, :merchant, :iban, :bic, 'pending', :by, :at)",
        {
            "id": change.id,
            "merchant": change.merchant_id,
            "iban": change.iban,
            "bic": change.bic,
            "by": change.requested_by,
            "at": epoch_us(change.requested_at),
        },
    )


def find_change(tx: RawTx, merchant_id: str, change_id: str) -> BankAccountChange | None:
    """One of the merchant's changes (another merchant's is None)."""
    row = tx.fetchone(f"SELECT {_COLUMNS} {_FROM} WHERE c.id = :id AND c.merchant_id = :merchant", {
        "id": change_id,
        "merchant": merchant_id,
    })  # fmt: skip
    return None if row is None else _change(row)


def pending_change(tx: RawTx, merchant_id: str) -> BankAccountChange | None:
    """The merchant's pending change, if it has one (it has at most one)."""
    row = tx.fetchone(
        f"SELECT {_COLUMNS} {_FROM} WHERE c.merchant_id = :merchant AND c.status = 'pending'", {"merchant": merchant_id}
    )
    return None if row is None else _change(row)


def latest_decided(tx: RawTx, merchant_id: str) -> BankAccountChange | None:
    """The merchant's change decided last (approved, rejected or withdrawn), if any."""
    row = tx.fetchone(
        f"SELECT {_COLUMNS} {_FROM} WHERE c.merchant_id = :merchant AND c.status <> 'pending' "
        "ORDER BY c.decided_at DESC, c.id DESC LIMIT 1",
        {"merchant": merchant_id},
    )
    return None if row is None else _change(row)


def shown_change(merchant_id: str) -> Read[BankAccountChange | None]:
    """The change the shop's owners are told of, in one query of one row (all nulls when there is none, so that it
    may join other figures of a page: ``one_row_reads``): the pending one, else the one decided last."""
    return Read(
        "SELECT shown.* FROM (SELECT 1 AS one) o LEFT JOIN ("
        f"SELECT {_COLUMNS} {_FROM} WHERE c.merchant_id = :merchant "
        "ORDER BY CASE WHEN c.status = 'pending' THEN 0 ELSE 1 END, c.decided_at DESC, c.id DESC LIMIT 1"
        ") shown ON 1 = 1",
        {"merchant": merchant_id},
        _shown,
        width=len(_COLUMNS.split(", ")),
    )


def _shown(rows: list[Any]) -> BankAccountChange | None:
    return None if rows[0][0] is None else _change(rows[0])


def list_changes(
    tx: RawTx, merchant_id: str, *, limit: int, status: str | None, before: tuple[int, str] | None
) -> list[BankAccountChange]:
    """The merchant's changes, newest first, of ``status`` if given, before ``(requested_at, id)`` if given."""
    where = ["c.merchant_id = :merchant"]
    params: dict[str, object] = {"merchant": merchant_id, "limit": limit}
    if status is not None:
        where.append("c.status = :status")
        params["status"] = status
    if before is not None:
        where.append("(c.requested_at < :at OR (c.requested_at = :at AND c.id < :id))")
        params.update(at=before[0], id=before[1])
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} {_FROM} WHERE {' AND '.join(where)} ORDER BY c.requested_at DESC, c.id DESC LIMIT :limit",
        params,
    )
    return [_change(row) for row in rows]


def count_pending(tx: RawTx) -> int:
    """How many merchants' bank account changes wait for an operator's check."""
    row = tx.fetchone("SELECT COUNT(*) FROM merchant_bank_changes WHERE status = 'pending'")
    return int(row[0]) if row is not None else 0


def queue(tx: RawTx, limit: int) -> list[BankAccountChange]:
    """Every merchant's pending change, oldest first: what operators have to check."""
    rows = tx.fetchall(
        f"SELECT {_COLUMNS} {_FROM} WHERE c.status = 'pending' ORDER BY c.requested_at, c.id LIMIT :limit",
        {"limit": limit},
    )
    return [_change(row) for row in rows]


def decide(
    tx: RawTx,
    change: BankAccountChange,
    status: str,
    *,
    at: int,
    by: str | None,
    reason: str | None = None,
    previous: tuple[str, str] | None = None,
) -> bool:
    """Move a pending change to ``status``; False when it was no longer pending (another decision came first)."""
    cursor = tx.execute(
        "UPDATE merchant_bank_changes SET status = :status, decided_at = :at, decided_by = :by, reason = :reason, "
        "previous_iban = :previous_iban, previous_bic = :previous_bic WHERE id = :id AND status = 'pending'",
        {
            "status": status,
            "at": at,
            "by": by,
            "reason": reason,
            "previous_iban": None if previous is None else previous[0],
            "previous_bic": None if previous is None else previous[1],
            "id": change.id,
        },
    )
    return int(cursor.rowcount) == 1
