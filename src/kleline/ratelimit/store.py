"""The rate limits' SQL: one counter per (scope, client, window), counted by a single conditional UPSERT."""

from __future__ import annotations

from kleline.db.engine import RawTx

__all__ = ["prune", "take_hit"]


def take_hit(tx: RawTx, scope: str, client: str, window_start: int, expires_at: int, limit: int) -> int | None:
    """Count one hit in the window; its number in the window, or None when the window already holds ``limit``.

    One statement: the first hit of a window inserts its row, the next ones add one while the count is below
    ``limit``. Concurrent hits queue on the row (its unique key, then its row lock on PostgreSQL; the write lock on
    SQLite) and each sees the count the previous one left, so that exactly ``limit`` get through however many come
    at once, from however many processes.
    """
    rows = tx.execute(
        "INSERT INTO rate_limit_hits (scope, client, window_start, hits, expires_at) "
        "VALUES (:scope, :client, :start, 1, :expires) "
        "ON CONFLICT (scope, client, window_start) DO UPDATE SET hits = rate_limit_hits.hits + 1 "
        "WHERE rate_limit_hits.hits < :limit "
        "RETURNING hits",
        {"scope": scope, "client": client, "start": window_start, "expires": expires_at, "limit": limit},
    ).fetchall()  # read to the end: a RETURNING statement left open would hold SQLite's commit
    return int(rows[0][0]) if rows else None


def prune(tx: RawTx, now: int) -> int:
    """Forget the counters of windows that have ended; how many."""
    cursor = tx.execute("DELETE FROM rate_limit_hits WHERE expires_at <= :now", {"now": now})
    return int(cursor.rowcount)
