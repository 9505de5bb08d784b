"""The SQL of a merchant user's own security: its password hash, and its last sign-ins as the audit trail recorded
them (its authenticator app's is every kind of back-office person's: ``kleline.identity.authenticator_store``)."""

from __future__ import annotations

import json

from kleline.clock import from_epoch_us
from kleline.db.engine import RawTx
from kleline.merchant_users.model import AuditRecord

__all__ = ["password_hash", "set_password_hash", "sign_ins_of"]


def password_hash(tx: RawTx, user_id: str) -> str | None:
    """The password hash of a user not removed, or None."""
    row = tx.fetchone("SELECT password_hash FROM merchant_users WHERE id = :id AND removed_at IS NULL", {"id": user_id})
    return None if row is None else str(row[0])


def set_password_hash(tx: RawTx, user_id: str, new_hash: str) -> None:
    """Record a user's new password hash."""
    tx.execute("UPDATE merchant_users SET password_hash = :hash WHERE id = :id", {"hash": new_hash, "id": user_id})


def sign_ins_of(tx: RawTx, user_id: str, limit: int) -> list[AuditRecord]:
    """The user's last ``limit`` sign-ins, newest first, as its merchant's trail recorded them (when, from where,
    how: ``detail.method``)."""
    rows = tx.fetchall(
        "SELECT id, merchant_id, user_id, at, action, object_id, detail, address FROM merchant_audit "
        "WHERE user_id = :user AND action = 'signed_in' ORDER BY at DESC, id DESC LIMIT :limit",
        {"user": user_id, "limit": limit},
    )
    return [
        AuditRecord(
            id=r[0],
            merchant_id=r[1],
            user_id=r[2],
            at=from_epoch_us(int(r[3])),
            action=r[4],
            object_id=r[5],
            detail=json.loads(r[6]) if r[6] else {},
            address=r[7],
        )
        for r in rows
    ]
