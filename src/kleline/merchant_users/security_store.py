"""The SQL of a merchant user's own security: its password hash, an authenticator app being set up in place of a
confirmed one (``totp_next_*``), removing the app, and its last sign-ins as the audit trail recorded them."""

from __future__ import annotations

import json

from kleline.clock import from_epoch_us
from kleline.db.engine import RawTx
from kleline.merchant_users.model import AuditRecord
from kleline.wallet.vault import SealedCard

__all__ = [
    "adopt_replacement",
    "clear_authenticator",
    "find_replacement",
    "password_hash",
    "save_replacement",
    "set_password_hash",
    "sign_ins_of",
]


def password_hash(tx: RawTx, user_id: str) -> str | None:
    """The password hash of a user not removed, or None."""
    row = tx.fetchone("SELECT password_hash FROM merchant_users WHERE id = :id AND removed_at IS NULL", {"id": user_id})
    return None if row is None else str(row[0])


def set_password_hash(tx: RawTx, user_id: str, new_hash: str) -> None:
    """Record a user's new password hash."""
    tx.execute("UPDATE merchant_users SET password_hash = :hash WHERE id = :id", {"hash": new_hash, "id": user_id})


def find_replacement(tx: RawTx, user_id: str) -> tuple[SealedCard, int] | None:
    """The sealed secret of the authenticator being set up in place of the user's confirmed one, and when it was
    made; None if there is none."""
    row = tx.fetchone(
        "SELECT totp_next_key_id, totp_next_wrapped_key, totp_next_nonce, totp_next_ciphertext, totp_next_at "
        "FROM merchant_users WHERE id = :id AND totp_next_key_id IS NOT NULL",
        {"id": user_id},
    )
    if row is None:
        return None
    return SealedCard(row[0], bytes(row[1]), bytes(row[2]), bytes(row[3])), int(row[4])


def save_replacement(tx: RawTx, user_id: str, sealed: SealedCard, at: int) -> None:
    """Keep a new secret beside the confirmed one, until a code from it is accepted (it replaces any earlier one)."""
    tx.execute(
        "UPDATE merchant_users SET totp_next_key_id = :key_id, totp_next_wrapped_key = :wrapped, "
        "totp_next_nonce = :nonce, totp_next_ciphertext = :ciphertext, totp_next_at = :at WHERE id = :id",
        {
            "key_id": sealed.key_id,
            "wrapped": sealed.wrapped_key,
            "nonce": sealed.nonce,
            "ciphertext": sealed.ciphertext,
            "at": at,
            "id": user_id,
        },
    )


def adopt_replacement(tx: RawTx, user_id: str, confirmed_at: int, accepted_step: int) -> None:
    """The new secret becomes the user's authenticator, confirmed at ``confirmed_at`` by the code of time step
    ``accepted_step`` (which cannot be used again); the old secret is gone."""
    tx.execute(
        "UPDATE merchant_users SET totp_key_id = totp_next_key_id, totp_wrapped_key = totp_next_wrapped_key, "
        "totp_nonce = totp_next_nonce, totp_ciphertext = totp_next_ciphertext, totp_enrolled_at = totp_next_at, "
        "totp_confirmed_at = :at, totp_failures = 0, totp_last_step = :step, totp_next_key_id = NULL, "
        "totp_next_wrapped_key = NULL, totp_next_nonce = NULL, totp_next_ciphertext = NULL, totp_next_at = NULL "
        "WHERE id = :id AND totp_next_key_id IS NOT NULL",
        {"at": confirmed_at, "step": accepted_step, "id": user_id},
    )


def clear_authenticator(tx: RawTx, user_id: str) -> None:
    """Forget the user's authenticator app: its secret, any replacement being set up, and its guard."""
    tx.execute(
        "UPDATE merchant_users SET totp_key_id = NULL, totp_wrapped_key = NULL, totp_nonce = NULL, "
        "totp_ciphertext = NULL, totp_enrolled_at = NULL, totp_confirmed_at = NULL, totp_failures = 0, "
        "totp_last_step = NULL, totp_next_key_id = NULL, totp_next_wrapped_key = NULL, totp_next_nonce = NULL, "
        "totp_next_ciphertext = NULL, totp_next_at = NULL WHERE id = :id",
        {"id": user_id},
    )


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
