"""The ledger's SQL for holds: record a pending hold, find it, close it exactly once, list the expired ones.

Kept apart from the entries because a hold is a row with a life of its own (pending, then committed, voided or
expired); its reserve moves through ``balance_store`` and its commit posts through ``entry_store``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kleline.clock import from_epoch_us
from kleline.db.engine import RawTx
from kleline.ledger.model import Hold, HoldStatus, Posting

__all__ = ["close_hold", "dump_postings", "expired_holds", "find_hold", "insert_hold"]

_HOLD_COLUMNS = "id, status, postings, reserved, created_at, expires_at, description, metadata, entry_id"


def insert_hold(tx: RawTx, row: dict[str, Any]) -> None:
    """Record a pending hold."""
    tx.execute(
        "INSERT INTO ledger_holds (id, status, created_at, expires_at, description, metadata, postings, reserved) "
        "VALUES (:id, 'pending', :created_at, :expires_at, :description, :metadata, :postings, :reserved)",
        row,
    )


def dump_postings(postings: Sequence[Posting]) -> str:
    """A hold's pending postings as compact JSON."""
    return json.dumps([[p.account, p.amount, p.currency] for p in postings], separators=(",", ":"))


def _hold(row: Sequence[Any]) -> Hold:
    hold_id, status, postings, reserved, created, expires, description, metadata, entry_id = row
    return Hold(
        hold_id,
        HoldStatus(status),
        tuple(Posting(a, int(m), c) for a, m, c in json.loads(postings)),
        json.loads(reserved),
        from_epoch_us(int(created)),
        from_epoch_us(int(expires)),
        description,
        json.loads(metadata),
        entry_id,
    )


def find_hold(tx: RawTx, hold_id: str) -> Hold | None:
    """A hold, or None."""
    row = tx.fetchone(f"SELECT {_HOLD_COLUMNS} FROM ledger_holds WHERE id = :id", {"id": hold_id})
    return _hold(row) if row else None


def close_hold(tx: RawTx, hold_id: str, status: str, closed_at: int, entry_id: str | None) -> Hold | None:
    """Move a pending hold to ``status`` (locking its row); None if it was not pending."""
    row = tx.fetchone(
        "UPDATE ledger_holds SET status = :status, closed_at = :closed_at, entry_id = :entry_id "
        f"WHERE id = :id AND status = 'pending' RETURNING {_HOLD_COLUMNS}",
        {"status": status, "closed_at": closed_at, "entry_id": entry_id, "id": hold_id},
    )
    return _hold(row) if row else None


def expired_holds(tx: RawTx, now: int, limit: int) -> list[str]:
    """Ids of pending holds past their expiry, oldest first."""
    rows = tx.fetchall(
        "SELECT id FROM ledger_holds WHERE status = 'pending' AND expires_at <= :now ORDER BY expires_at LIMIT :limit",
        {"now": now, "limit": limit},
    )
    return [r[0] for r in rows]
