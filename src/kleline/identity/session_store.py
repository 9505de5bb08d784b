"""The SQL of a ``Directory``'s sessions: a digest of the cookie's token, the stage, the person, the forms' token,
the last second factor, the expiry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from kleline.clock import from_epoch_us
from kleline.db.engine import RawTx
from kleline.identity.directory import Directory

__all__ = [
    "StoredSession",
    "delete_session",
    "find_session",
    "insert_session",
    "purge_expired",
    "set_second_factor_at",
]

_PURGE_BATCH: Final = 100


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A session as stored: its stage, its forms' token, its last second factor, its expiry, and its person's
    columns as asked for (None when anonymous, or when the person may no longer sign in); ``more_rows``, the same
    columns of the further rows that the caller's joins gave (one per mall of a merchant user's shop, say)."""

    stage: str
    csrf_secret: str = field(repr=False)
    second_factor_at: datetime | None
    expires_at: datetime
    user_row: Sequence[Any] | None
    more_rows: Sequence[Sequence[Any]] = ()


def insert_session(
    tx: RawTx,
    d: Directory,
    id_hash: bytes,
    user_id: str | None,
    stage: str,
    csrf_secret: str,
    second_factor_at: int | None,
    created_at: int,
    expires_at: int,
) -> None:
    """Record a new session."""
    tx.execute(
        f"INSERT INTO {d.sessions} (id_hash, user_id, stage, csrf_secret, second_factor_at, created_at, "
        "expires_at) VALUES (:hash, :user, :stage, :csrf, :factor, :created, :expires)",
        {
            "hash": id_hash,
            "user": user_id,
            "stage": stage,
            "csrf": csrf_secret,
            "factor": second_factor_at,
            "created": created_at,
            "expires": expires_at,
        },
    )


def find_session(
    tx: RawTx, d: Directory, id_hash: bytes, now: int, user_columns: str, *, joins: str = ""
) -> StoredSession | None:
    """A live session and its person's ``user_columns`` (written over the alias ``u``, and over the aliases that
    ``joins`` adds after the person's table: what a page needs of the person's organisation comes in the same
    query), in one query."""
    rows = tx.fetchall(
        f"SELECT s.stage, s.csrf_secret, s.second_factor_at, s.expires_at, s.user_id, {user_columns} "
        f"FROM {d.sessions} s LEFT JOIN {d.users} u ON u.id = s.user_id AND u.{d.gone} IS NULL{joins} "
        "WHERE s.id_hash = :hash AND s.expires_at > :now",
        {"hash": id_hash, "now": now},
    )
    if not rows:
        return None
    row = rows[0]
    user_row = None if row[5] is None else row[5:]
    more_rows = [more[5:] for more in rows[1:]] if user_row is not None else []
    second_factor_at = None if row[2] is None else from_epoch_us(int(row[2]))
    return StoredSession(str(row[0]), str(row[1]), second_factor_at, from_epoch_us(int(row[3])), user_row, more_rows)


def set_second_factor_at(tx: RawTx, d: Directory, id_hash: bytes, at: int) -> bool:
    """Record a second factor just given in a signed-in session; False if the session is gone."""
    cursor = tx.execute(
        f"UPDATE {d.sessions} SET second_factor_at = :at WHERE id_hash = :hash AND stage = 'signed_in'",
        {"at": at, "hash": id_hash},
    )
    return bool(cursor.rowcount == 1)


def delete_session(tx: RawTx, d: Directory, id_hash: bytes) -> bool:
    """End a session; False if there was none."""
    cursor = tx.execute(f"DELETE FROM {d.sessions} WHERE id_hash = :hash", {"hash": id_hash})
    return bool(cursor.rowcount == 1)


def purge_expired(tx: RawTx, d: Directory, now: int) -> None:
    """Forget a bounded batch of expired sessions (each new session does: no sweep job, no long delete)."""
    tx.execute(
        f"DELETE FROM {d.sessions} WHERE id_hash IN "
        f"(SELECT id_hash FROM {d.sessions} WHERE expires_at <= :now LIMIT :batch)",
        {"now": now, "batch": _PURGE_BATCH},
    )
