"""The SQL of a person's authenticator app, on a ``Directory``'s users: the sealed TOTP secret (``totp_*``; confirmed
once a first code is accepted) with its guard, and a new secret waiting beside a confirmed one (``totp_next_*``) until
a code from it is accepted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from kleline.db.engine import RawTx
from kleline.identity.directory import Directory
from kleline.wallet.sca import AuthGuard
from kleline.wallet.vault import SealedCard

__all__ = [
    "Authenticator",
    "SecretSlot",
    "adopt_replacement",
    "authenticators_not_under",
    "clear_authenticator",
    "confirm_authenticator",
    "find_authenticator",
    "find_replacement",
    "save_guard",
    "save_pending_authenticator",
    "save_replacement",
    "save_rewrapped",
]


@dataclass(frozen=True, slots=True)
class Authenticator:
    """A person's sealed TOTP secret (None: none set up), whether a code confirmed it, and its guard."""

    sealed: SealedCard | None
    confirmed: bool
    guard: AuthGuard


def find_authenticator(tx: RawTx, d: Directory, user_id: str) -> Authenticator | None:
    """The person's authenticator state, its row locked for this transaction (PostgreSQL); None: no such person, or
    one who may no longer sign in."""
    lock = " FOR UPDATE" if tx.is_postgres else ""
    row = tx.fetchone(
        "SELECT totp_key_id, totp_wrapped_key, totp_nonce, totp_ciphertext, totp_confirmed_at, totp_failures, "
        f"totp_last_step FROM {d.users} WHERE id = :id AND {d.gone} IS NULL{lock}",
        {"id": user_id},
    )
    if row is None:
        return None
    sealed = None if row[0] is None else SealedCard(row[0], bytes(row[1]), bytes(row[2]), bytes(row[3]))
    guard = AuthGuard(int(row[5]), None if row[6] is None else int(row[6]))
    return Authenticator(sealed, row[4] is not None, guard)


def save_pending_authenticator(tx: RawTx, d: Directory, user_id: str, sealed: SealedCard, at: int) -> bool:
    """Put a new secret in place of the person's unconfirmed one (or none); False when one is confirmed already."""
    cursor = tx.execute(
        f"UPDATE {d.users} SET totp_key_id = :key_id, totp_wrapped_key = :wrapped, totp_nonce = :nonce, "
        "totp_ciphertext = :ciphertext, totp_enrolled_at = :at, totp_failures = 0, totp_last_step = NULL "
        "WHERE id = :id AND totp_confirmed_at IS NULL",
        {
            "key_id": sealed.key_id,
            "wrapped": sealed.wrapped_key,
            "nonce": sealed.nonce,
            "ciphertext": sealed.ciphertext,
            "at": at,
            "id": user_id,
        },
    )
    return bool(cursor.rowcount == 1)


def confirm_authenticator(tx: RawTx, d: Directory, user_id: str, at: int) -> None:
    """Record that a code from the person's authenticator was accepted (the first time only)."""
    tx.execute(
        f"UPDATE {d.users} SET totp_confirmed_at = :at WHERE id = :id AND totp_confirmed_at IS NULL",
        {"at": at, "id": user_id},
    )


def save_guard(tx: RawTx, d: Directory, user_id: str, guard: AuthGuard) -> None:
    """Record the person's consecutive wrong codes and last accepted time step."""
    tx.execute(
        f"UPDATE {d.users} SET totp_failures = :failures, totp_last_step = :step WHERE id = :id",
        {"failures": guard.consecutive_failures, "step": guard.last_accepted_step, "id": user_id},
    )


def find_replacement(tx: RawTx, d: Directory, user_id: str) -> tuple[SealedCard, int] | None:
    """The sealed secret of the authenticator being set up in place of the person's confirmed one, and when it was
    made; None if there is none."""
    row = tx.fetchone(
        "SELECT totp_next_key_id, totp_next_wrapped_key, totp_next_nonce, totp_next_ciphertext, totp_next_at "
        f"FROM {d.users} WHERE id = :id AND totp_next_key_id IS NOT NULL",
        {"id": user_id},
    )
    if row is None:
        return None
    return SealedCard(row[0], bytes(row[1]), bytes(row[2]), bytes(row[3])), int(row[4])


def save_replacement(tx: RawTx, d: Directory, user_id: str, sealed: SealedCard, at: int) -> None:
    """Keep a new secret beside the confirmed one, until a code from it is accepted (it replaces any earlier one)."""
    tx.execute(
        f"UPDATE {d.users} SET totp_next_key_id = :key_id, totp_next_wrapped_key = :wrapped, "
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


def adopt_replacement(tx: RawTx, d: Directory, user_id: str, confirmed_at: int, accepted_step: int) -> None:
    """The new secret becomes the person's authenticator, confirmed at ``confirmed_at`` by the code of time step
    ``accepted_step`` (which cannot be used again); the old secret is gone."""
    tx.execute(
        f"UPDATE {d.users} SET totp_key_id = totp_next_key_id, totp_wrapped_key = totp_next_wrapped_key, "
        "totp_nonce = totp_next_nonce, totp_ciphertext = totp_next_ciphertext, totp_enrolled_at = totp_next_at, "
        "totp_confirmed_at = :at, totp_failures = 0, totp_last_step = :step, totp_next_key_id = NULL, "
        "totp_next_wrapped_key = NULL, totp_next_nonce = NULL, totp_next_ciphertext = NULL, totp_next_at = NULL "
        "WHERE id = :id AND totp_next_key_id IS NOT NULL",
        {"at": confirmed_at, "step": accepted_step, "id": user_id},
    )


def clear_authenticator(tx: RawTx, d: Directory, user_id: str) -> None:
    """Forget the person's authenticator app: its secret, any replacement being set up, and its guard."""
    tx.execute(
        f"UPDATE {d.users} SET totp_key_id = NULL, totp_wrapped_key = NULL, totp_nonce = NULL, "
        "totp_ciphertext = NULL, totp_enrolled_at = NULL, totp_confirmed_at = NULL, totp_failures = 0, "
        "totp_last_step = NULL, totp_next_key_id = NULL, totp_next_wrapped_key = NULL, totp_next_nonce = NULL, "
        "totp_next_ciphertext = NULL, totp_next_at = NULL WHERE id = :id",
        {"id": user_id},
    )


SecretSlot = Literal["current", "replacement"]
_SLOT_COLUMNS: Final[dict[str, str]] = {"current": "totp", "replacement": "totp_next"}
"""Where a person's sealed authenticator secret lives: the confirmed app's columns (``totp_*``), or those of a
replacement being set up (``totp_next_*``), which key rotation re-wraps alike."""


def authenticators_not_under(
    tx: RawTx, d: Directory, key_id: str, limit: int, slot: SecretSlot = "current"
) -> list[tuple[str, SealedCard]]:
    """Up to ``limit`` people whose secret in ``slot`` is wrapped under another master key than ``key_id``."""
    c = _SLOT_COLUMNS[slot]
    rows = tx.fetchall(
        f"SELECT id, {c}_key_id, {c}_wrapped_key, {c}_nonce, {c}_ciphertext FROM {d.users} "
        f"WHERE {c}_key_id IS NOT NULL AND {c}_key_id <> :key_id ORDER BY id LIMIT :limit",
        {"key_id": key_id, "limit": limit},
    )
    return [(r[0], SealedCard(r[1], bytes(r[2]), bytes(r[3]), bytes(r[4]))) for r in rows]


def save_rewrapped(
    tx: RawTx, d: Directory, user_id: str, old_key_id: str, sealed: SealedCard, slot: SecretSlot = "current"
) -> None:
    """Store a re-wrapped secret in ``slot``, unless a concurrent rotation (or a change of it) moved it already."""
    c = _SLOT_COLUMNS[slot]
    tx.execute(
        f"UPDATE {d.users} SET {c}_key_id = :key_id, {c}_wrapped_key = :wrapped WHERE id = :id AND {c}_key_id = :old",
        {"key_id": sealed.key_id, "wrapped": sealed.wrapped_key, "id": user_id, "old": old_key_id},
    )
