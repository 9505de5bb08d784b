"""Passkeys' SQL: the credentials of each wallet and the single-use ceremonies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import RawTx
from kleline.wallet.passkey import Ceremony, Passkey

__all__ = [
    "count_passkeys",
    "delete_passkey",
    "find_by_credential",
    "find_ceremony",
    "find_passkey",
    "insert_ceremony",
    "insert_passkey",
    "list_passkeys",
    "mark_ceremony_used",
    "purge_ceremonies",
    "record_use",
]

_PASSKEY_COLUMNS: Final = (
    "id, customer_id, credential_id, public_key, sign_count, name, transports, created_at, last_used_at"
)
_CEREMONY_COLUMNS: Final = "id, purpose, customer_id, challenge_id, nonce, created_at, expires_at, used"
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


def insert_passkey(tx: RawTx, passkey: Passkey) -> None:
    """Record a new passkey (the credential id's unique key refuses one registered already)."""
    tx.execute(
        f"INSERT INTO passkeys ({_PASSKEY_COLUMNS}) VALUES "
        "(:id, :customer, :credential, :key, :count, :name, :transports, :created, NULL)",
        {
            "id": passkey.id,
            "customer": passkey.customer_id,
            "credential": passkey.credential_id,
            "key": passkey.public_key,
            "count": passkey.sign_count,
            "name": passkey.name,
            "transports": ",".join(passkey.transports),
            "created": epoch_us(passkey.created_at),
        },
    )


def list_passkeys(tx: RawTx, customer_id: str) -> list[Passkey]:
    """A customer's passkeys, oldest first."""
    rows = tx.fetchall(
        f"SELECT {_PASSKEY_COLUMNS} FROM passkeys WHERE customer_id = :customer ORDER BY created_at, id",
        {"customer": customer_id},
    )
    return [_passkey(row) for row in rows]


def count_passkeys(tx: RawTx, customer_id: str) -> int:
    """How many passkeys a customer has."""
    row = tx.fetchone("SELECT COUNT(*) FROM passkeys WHERE customer_id = :customer", {"customer": customer_id})
    return int(row[0]) if row else 0


def find_passkey(tx: RawTx, passkey_id: str, customer_id: str) -> Passkey | None:
    """The customer's passkey ``passkey_id`` (another customer's is None: nothing revealed)."""
    row = tx.fetchone(
        f"SELECT {_PASSKEY_COLUMNS} FROM passkeys WHERE id = :id AND customer_id = :customer",
        {"id": passkey_id, "customer": customer_id},
    )
    return None if row is None else _passkey(row)


def find_by_credential(tx: RawTx, credential_id: bytes) -> Passkey | None:
    """The passkey of an authenticator's credential id, whoever's it is, or None."""
    row = tx.fetchone(
        f"SELECT {_PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = :credential", {"credential": credential_id}
    )
    return None if row is None else _passkey(row)


def delete_passkey(tx: RawTx, passkey_id: str, customer_id: str) -> bool:
    """Remove the customer's passkey; False if they have no such passkey."""
    found = tx.fetchall(
        "DELETE FROM passkeys WHERE id = :id AND customer_id = :customer RETURNING id",
        {"id": passkey_id, "customer": customer_id},
    )
    return bool(found)


def record_use(tx: RawTx, passkey: Passkey, sign_count: int, at: int) -> bool:
    """Store the counter a verified response carried, unless a concurrent use stored one already (False: the same
    counter may not pass twice)."""
    found = tx.fetchall(
        "UPDATE passkeys SET sign_count = :count, last_used_at = :at WHERE id = :id AND sign_count = :old RETURNING id",
        {"count": sign_count, "at": at, "id": passkey.id, "old": passkey.sign_count},
    )
    return bool(found)


def insert_ceremony(tx: RawTx, ceremony: Ceremony) -> None:
    """Record a new ceremony."""
    tx.execute(
        f"INSERT INTO passkey_ceremonies ({_CEREMONY_COLUMNS}) VALUES "
        "(:id, :purpose, :customer, :challenge, :nonce, :created, :expires, :used)",
        {
            "id": ceremony.id,
            "purpose": ceremony.purpose,
            "customer": ceremony.customer_id,
            "challenge": ceremony.challenge_id,
            "nonce": ceremony.nonce,
            "created": epoch_us(ceremony.created_at),
            "expires": epoch_us(ceremony.expires_at),
            "used": ceremony.used,
        },
    )


def find_ceremony(tx: RawTx, ceremony_id: str, *, lock: bool = False) -> Ceremony | None:
    """A ceremony by id (locked for this transaction with ``lock`` on PostgreSQL), or None."""
    suffix = " FOR UPDATE" if lock and tx.is_postgres else ""
    row = tx.fetchone(f"SELECT {_CEREMONY_COLUMNS} FROM passkey_ceremonies WHERE id = :id{suffix}", {"id": ceremony_id})
    if row is None:
        return None
    return Ceremony(
        row[0],
        row[1],
        row[2],
        row[3],
        bytes(row[4]),
        from_epoch_us(int(row[5])),
        from_epoch_us(int(row[6])),
        bool(row[7]),
    )


def mark_ceremony_used(tx: RawTx, ceremony_id: str) -> bool:
    """Spend a ceremony; False if it was spent already (by a concurrent request)."""
    found = tx.fetchall(
        "UPDATE passkey_ceremonies SET used = :yes WHERE id = :id AND used = :no RETURNING id",
        {"id": ceremony_id, "yes": True, "no": False},
    )
    return bool(found)


def purge_ceremonies(tx: RawTx, now: int) -> None:
    """Delete a bounded batch of expired ceremonies, so the table stays small without a sweep job."""
    tx.execute(
        "DELETE FROM passkey_ceremonies WHERE id IN "
        "(SELECT id FROM passkey_ceremonies WHERE expires_at <= :now LIMIT :batch)",
        {"now": now, "batch": _PURGE_BATCH},
    )
