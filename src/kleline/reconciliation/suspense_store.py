"""Suspense items' SQL: the queue of statement lines the books could not explain, and their resolutions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import RawTx
from kleline.reconciliation.model import Action, Resolution, SuspenseItem, SuspenseReason
from kleline.reconciliation.store import LINE_COLUMNS, statement_line

__all__ = [
    "count_open_items",
    "insert_suspense_item",
    "list_suspense_items",
    "load_suspense_item",
    "resolve_suspense_item",
]


def insert_suspense_item(
    tx: RawTx,
    item_id: str,
    line_id: str,
    statement_key: str,
    reason: SuspenseReason,
    detail: str,
    entry_id: str | None,
    created_at: int,
) -> None:
    """Open a suspense item for a line."""
    tx.execute(
        "INSERT INTO suspense_items (id, line_id, statement_id, reason, detail, status, entry_id, created_at) "
        "VALUES (:id, :line, :statement, :reason, :detail, 'open', :entry, :at)",
        {
            "id": item_id,
            "line": line_id,
            "statement": statement_key,
            "reason": reason.value,
            "detail": detail[:500],
            "entry": entry_id,
            "at": created_at,
        },
    )


_ITEM_COLUMNS = (
    "i.id, i.line_id, i.statement_id, i.reason, i.detail, i.status, i.entry_id, i.created_at, i.resolution_kind, "
    "i.resolution_target, i.resolution_entry_id, i.note, i.resolved_at, i.resolved_by, "
    + ", ".join("l." + c.strip() for c in LINE_COLUMNS.split(","))
)


def _item(row: Sequence[Any]) -> SuspenseItem:
    resolution = None
    if row[8] is not None:
        resolution = Resolution(row[8], row[9], row[10], row[11], from_epoch_us(int(row[12])), row[13])
    return SuspenseItem(
        id=row[0],
        line_id=row[1],
        statement_id=row[2],
        line=statement_line(row[14:]),
        reason=SuspenseReason(row[3]),
        detail=row[4],
        status=row[5],
        entry_id=row[6],
        created_at=from_epoch_us(int(row[7])),
        resolution=resolution,
    )


def load_suspense_item(tx: RawTx, item_id: str, *, lock: bool = False) -> SuspenseItem | None:
    """A suspense item with its line, locked for the rest of the transaction when ``lock`` (PostgreSQL)."""
    suffix = " FOR UPDATE OF i" if lock and tx.is_postgres else ""
    row = tx.fetchone(
        f"SELECT {_ITEM_COLUMNS} FROM suspense_items i JOIN bank_statement_lines l ON l.id = i.line_id "
        f"WHERE i.id = :id{suffix}",
        {"id": item_id},
    )
    return None if row is None else _item(row)


def count_open_items(tx: RawTx) -> int:
    """How many suspense items wait for a resolution."""
    row = tx.fetchone("SELECT COUNT(*) FROM suspense_items WHERE status = 'open'")
    return int(row[0]) if row is not None else 0


def list_suspense_items(tx: RawTx, *, status: str | None, limit: int, after: str | None) -> list[SuspenseItem]:
    """Suspense items oldest first (a queue), of one status or all, after the ``after`` id."""
    where: list[str] = []
    params: dict[str, object] = {"limit": limit}
    if status is not None:
        where.append("i.status = :status")
        params["status"] = status
    if after is not None:
        where.append(
            "(i.created_at > (SELECT created_at FROM suspense_items WHERE id = :after) OR "
            "(i.created_at = (SELECT created_at FROM suspense_items WHERE id = :after) AND i.id > :after))"
        )
        params["after"] = after
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = tx.fetchall(
        f"SELECT {_ITEM_COLUMNS} FROM suspense_items i JOIN bank_statement_lines l ON l.id = i.line_id {clause} "
        "ORDER BY i.created_at, i.id LIMIT :limit",
        params,
    )
    return [_item(row) for row in rows]


def resolve_suspense_item(tx: RawTx, item_id: str, resolution: Resolution, action: Action | None) -> None:
    """Close an open suspense item with the operator's resolution."""
    tx.execute(
        "UPDATE suspense_items SET status = 'resolved', resolution_kind = :kind, resolution_target = :target, "
        "resolution_action = :action, resolution_entry_id = :entry, note = :note, resolved_at = :at, "
        "resolved_by = :by WHERE id = :id AND status = 'open'",
        {
            "id": item_id,
            "kind": resolution.kind,
            "target": resolution.target,
            "action": None if action is None else action.value,
            "entry": resolution.entry_id,
            "note": resolution.note,
            "at": epoch_us(resolution.resolved_at),
            "by": resolution.resolved_by,
        },
    )
