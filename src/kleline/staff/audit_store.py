"""The staff audit trail's tables (migration 0035): append a row under the locked head, read rows back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kleline.db.engine import RawTx

__all__ = ["append", "find", "head", "iter_rows", "lock_head", "search", "seq_of"]

_COLUMNS = "seq, id, at, actor_kind, actor_id, role, action, subject_type, subject_id, before, after, address, hash"


def lock_head(tx: RawTx) -> tuple[int, bytes]:
    """The chain's last number and hash, locked until the transaction ends (records are numbered in commit order)."""
    lock = " FOR UPDATE" if tx.is_postgres else ""
    row = tx.fetchone(f"SELECT seq, hash FROM staff_audit_head WHERE id = 1{lock}")
    return int(row[0]), bytes(row[1])


def head(tx: RawTx) -> tuple[int, bytes]:
    """The chain's last number and hash, unlocked (for ``verify``, inside its snapshot)."""
    row = tx.fetchone("SELECT seq, hash FROM staff_audit_head WHERE id = 1")
    return int(row[0]), bytes(row[1])


def append(tx: RawTx, row: dict[str, Any]) -> None:
    """Insert one record and move the head onto it (the head's trigger refuses any other step than +1)."""
    tx.execute(
        "INSERT INTO staff_audit (seq, id, at, actor_kind, actor_id, role, action, subject_type, subject_id, before,"
        " after, address, hash) VALUES (:seq, :id, :at, :actor_kind, :actor_id, :role, :action, :subject_type,"
        " :subject_id, :before, :after, :address, :hash)",
        row,
    )
    tx.execute(
        "UPDATE staff_audit_head SET seq = :seq, hash = :hash WHERE id = 1", {"seq": row["seq"], "hash": row["hash"]}
    )


def iter_rows(tx: RawTx, page: int = 2000) -> Iterator[tuple[Any, ...]]:
    """Every record in chain order, read a page at a time."""
    after = 0
    while True:
        rows = tx.fetchall(
            f"SELECT {_COLUMNS} FROM staff_audit WHERE seq > :after ORDER BY seq LIMIT :page",
            {"after": after, "page": page},
        )
        yield from rows
        if len(rows) < page:
            return
        after = int(rows[-1][0])


def find(tx: RawTx, record_id: str) -> tuple[Any, ...] | None:
    """The record ``record_id``'s row, if there is one."""
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM staff_audit WHERE id = :id", {"id": record_id})
    return None if row is None else tuple(row)


def seq_of(tx: RawTx, record_id: str) -> int | None:
    """The chain number of record ``record_id``, if there is one."""
    row = tx.fetchone("SELECT seq FROM staff_audit WHERE id = :id", {"id": record_id})
    return None if row is None else int(row[0])


def search(tx: RawTx, filters: dict[str, Any], *, before_seq: int | None, limit: int) -> list[tuple[Any, ...]]:
    """Records matching ``filters`` (column -> value, ``at_from`` / ``at_to`` in epoch µs), newest first."""
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    for column in ("actor_kind", "actor_id", "role", "action", "subject_type", "subject_id"):
        if filters.get(column) is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = filters[column]
    if filters.get("at_from") is not None:
        clauses.append("at >= :at_from")
        params["at_from"] = filters["at_from"]
    if filters.get("at_to") is not None:
        clauses.append("at < :at_to")
        params["at_to"] = filters["at_to"]
    if before_seq is not None:
        clauses.append("seq < :before_seq")
        params["before_seq"] = before_seq
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return tx.fetchall(f"SELECT {_COLUMNS} FROM staff_audit{where} ORDER BY seq DESC LIMIT :limit", params)
