"""Wrong passwords, counted on the person's row: ``failed_sign_ins`` in a row lock sign-in until ``locked_until``
(the customers' rule, ``kleline.wallet.store.take_sign_in_attempt``, on a ``Directory``'s users)."""

from __future__ import annotations

from kleline.db.engine import RawTx
from kleline.identity.directory import Directory

__all__ = ["end_sessions_of", "lock_out", "reset_failed_sign_ins", "take_sign_in_attempt"]


def take_sign_in_attempt(tx: RawTx, d: Directory, user_id: str, limit: int, now: int, lock_until: int) -> bool:
    """Count an attempt as a failure before its password is checked; False when sign-in is locked (an attempt that
    reaches ``limit`` sets the lock, and the count starts again). One conditional UPDATE, so that concurrent guesses
    cannot all slip under the limit; an unknown id matches no row, at the same cost."""
    cursor = tx.execute(
        f"UPDATE {d.users} SET "
        "locked_until = CASE WHEN failed_sign_ins + 1 >= :limit THEN :until ELSE NULL END, "
        "failed_sign_ins = CASE WHEN failed_sign_ins + 1 >= :limit THEN 0 ELSE failed_sign_ins + 1 END "
        f"WHERE id = :id AND {d.gone} IS NULL AND (locked_until IS NULL OR locked_until <= :now)",
        {"limit": limit, "until": lock_until, "id": user_id, "now": now},
    )
    return bool(cursor.rowcount == 1)


def reset_failed_sign_ins(tx: RawTx, d: Directory, user_id: str) -> None:
    """A right password: the count of failures starts again, and the lock its own attempt may have set goes."""
    tx.execute(f"UPDATE {d.users} SET failed_sign_ins = 0, locked_until = NULL WHERE id = :id", {"id": user_id})


def lock_out(tx: RawTx, d: Directory, user_id: str, until: int) -> None:
    """Refuse the person's sign-ins until ``until`` (too many wrong codes), and end its sessions."""
    tx.execute(
        f"UPDATE {d.users} SET locked_until = :until, failed_sign_ins = 0 WHERE id = :id",
        {"until": until, "id": user_id},
    )
    end_sessions_of(tx, d, user_id)


def end_sessions_of(tx: RawTx, d: Directory, user_id: str) -> None:
    """End every session of a person, wherever its cookie was copied to."""
    tx.execute(f"DELETE FROM {d.sessions} WHERE user_id = :user", {"user": user_id})
