"""The SQL of a ``Directory``'s passkeys: each person's credentials (``d.passkeys``: ``merchant_passkeys``,
``staff_passkeys``) and the single-use ceremonies (``d.ceremonies``), as ``kleline.wallet.passkey_store`` keeps the
customers'."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, cast

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import RawTx
from kleline.identity.directory import Directory
from kleline.identity.passkey_model import CeremonyPurpose, Passkey, PasskeyCeremony

__all__ = [
    "count_passkeys",
    "delete_passkey",
    "find_ceremony",
    "find_passkey",
    "find_passkey_by_credential",
    "insert_ceremony",
    "insert_passkey",
    "list_passkeys",
    "mark_ceremony_used",
    "purge_ceremonies",
    "record_use",
]

_PASSKEY_COLUMNS: Final = (
    "id, user_id, credential_id, public_key, sign_count, name, transports, created_at, last_used_at"
)
_CEREMONY_COLUMNS: Final = "id, purpose, user_id, nonce, created_at, expires_at, used"
_PURGE_BATCH: Final = 100


def _passkey(row: Sequence[Any]) -> Passkey:
    return Passkey(
        row[0],
        row[1],
        bytes(row[2]),
        bytes(row[3]),
        int(row[4]),
        row[5],
        tuple(t for t in str(row[6]).split(",") if t),
        from_epoch_us(int(row[7])),
        None if row[8] is None else from_epoch_us(int(row[8])),
    )


def insert_passkey(tx: RawTx, d: Directory, passkey: Passkey) -> None:
    """Record a new passkey (the credential id's unique key refuses one registered already)."""
    tx.execute(
        f"INSERT INTO {d.passkeys} ({_PASSKEY_COLUMNS}) VALUES "
        "(:id, :user, :credential, :key, :count, :name, :transports, :created, NULL)",
        {
            "id": passkey.id,
            "user": passkey.user_id,
            "credential": passkey.credential_id,
            "key": passkey.public_key,
            "count": passkey.sign_count,
            "name": passkey.name,
            "transports": ",".join(passkey.transports),
            "created": epoch_us(passkey.created_at),
        },
    )


def list_passkeys(tx: RawTx, d: Directory, user_id: str) -> list[Passkey]:
    """A user's passkeys, oldest first."""
    rows = tx.fetchall(
        f"SELECT {_PASSKEY_COLUMNS} FROM {d.passkeys} WHERE user_id = :user ORDER BY created_at, id",
        {"user": user_id},
    )
    return [_passkey(row) for row in rows]


def count_passkeys(tx: RawTx, d: Directory, user_id: str) -> int:
    """How many passkeys a user has."""
    row = tx.fetchone(f"SELECT COUNT(*) FROM {d.passkeys} WHERE user_id = :user", {"user": user_id})
    return int(row[0]) if row else 0


def find_passkey(tx: RawTx, d: Directory, passkey_id: str, user_id: str) -> Passkey | None:
    """The user's passkey ``passkey_id`` (another user's is None: nothing revealed)."""
    row = tx.fetchone(
        f"SELECT {_PASSKEY_COLUMNS} FROM {d.passkeys} WHERE id = :id AND user_id = :user",
        {"id": passkey_id, "user": user_id},
    )
    return None if row is None else _passkey(row)


def find_passkey_by_credential(tx: RawTx, d: Directory, user_id: str, credential_id: bytes) -> Passkey | None:
    """The user's passkey of an authenticator's credential id, or None (another user's too)."""
    row = tx.fetchone(
        f"SELECT {_PASSKEY_COLUMNS} FROM {d.passkeys} WHERE credential_id = :credential AND user_id = :user",
        {"credential": credential_id, "user": user_id},
    )
    return None if row is None else _passkey(row)


def delete_passkey(tx: RawTx, d: Directory, passkey_id: str, user_id: str) -> bool:
    """Remove the user's passkey; False if it has no such passkey."""
    found = tx.fetchall(
        f"DELETE FROM {d.passkeys} WHERE id = :id AND user_id = :user RETURNING id",
        {"id": passkey_id, "user": user_id},
    )
    return bool(found)


def record_use(tx: RawTx, d: Directory, passkey: Passkey, sign_count: int, at: int) -> bool:
    """Store the counter a verified response carried, unless a concurrent use stored one already (False: the same
    counter may not pass twice)."""
    found = tx.fetchall(
        f"UPDATE {d.passkeys} SET sign_count = :count, last_used_at = :at "
        "WHERE id = :id AND sign_count = :old RETURNING id",
        {"count": sign_count, "at": at, "id": passkey.id, "old": passkey.sign_count},
    )
    return bool(found)


def insert_ceremony(tx: RawTx, d: Directory, ceremony: PasskeyCeremony) -> None:
    """Record a new ceremony."""
    tx.execute(
        f"INSERT INTO {d.ceremonies} ({_CEREMONY_COLUMNS}) VALUES "
        "(:id, :purpose, :user, :nonce, :created, :expires, :used)",
        {
            "id": ceremony.id,
            "purpose": ceremony.purpose,
            "user": ceremony.user_id,
            "nonce": ceremony.nonce,
            "created": epoch_us(ceremony.created_at),
            "expires": epoch_us(ceremony.expires_at),
            "used": ceremony.used,
        },
    )


def find_ceremony(tx: RawTx, d: Directory, ceremony_id: str, *, lock: bool = False) -> PasskeyCeremony | None:
    """A ceremony by id (locked for this transaction with ``lock`` on PostgreSQL), or None."""
    suffix = " FOR UPDATE" if lock and tx.is_postgres else ""
    row = tx.fetchone(f"SELECT {_CEREMONY_COLUMNS} FROM {d.ceremonies} WHERE id = :id{suffix}", {"id": ceremony_id})
    if row is None:
        return None
    return PasskeyCeremony(
        row[0],
        cast(CeremonyPurpose, row[1]),
        row[2],
        bytes(row[3]),
        from_epoch_us(int(row[4])),
        from_epoch_us(int(row[5])),
        bool(row[6]),
    )


def mark_ceremony_used(tx: RawTx, d: Directory, ceremony_id: str) -> bool:
    """Spend a ceremony; False if it was spent already (by a concurrent request)."""
    found = tx.fetchall(
        f"UPDATE {d.ceremonies} SET used = :yes WHERE id = :id AND used = :no RETURNING id",
        {"id": ceremony_id, "yes": True, "no": False},
    )
    return bool(found)


def purge_ceremonies(tx: RawTx, d: Directory, now: int) -> None:
    """Delete a bounded batch of expired ceremonies, so the table stays small without a sweep job."""
    tx.execute(
        f"DELETE FROM {d.ceremonies} WHERE id IN (SELECT id FROM {d.ceremonies} WHERE expires_at <= :now LIMIT :batch)",
        {"now": now, "batch": _PURGE_BATCH},
    )
