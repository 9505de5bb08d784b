"""The merchant users' SQL: users (with their lockout counters and sealed authenticator), invitations, audit trail."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from kleline.clock import from_epoch_us
from kleline.db.engine import RawTx
from kleline.merchant_users.model import AuditRecord, Invitation, MerchantUser, Role
from kleline.wallet.sca import AuthGuard
from kleline.wallet.vault import SealedCard

__all__ = [
    "SecretSlot",
    "USER_COLUMNS",
    "Authenticator",
    "accept_invitation",
    "audit_page",
    "authenticators_not_under",
    "confirm_authenticator",
    "count_owners",
    "end_sessions_of",
    "find_authenticator",
    "find_invitation",
    "find_invitation_by_token",
    "find_user",
    "find_user_by_email",
    "insert_audit",
    "insert_invitation",
    "insert_user",
    "list_users",
    "lock_out",
    "lock_team",
    "pending_invitations",
    "remove_user",
    "reset_failed_sign_ins",
    "save_guard",
    "save_pending_authenticator",
    "save_rewrapped",
    "set_role",
    "take_sign_in_attempt",
    "user_from_row",
    "withdraw_invitation",
    "withdraw_pending_for",
]

USER_COLUMNS = (
    "u.id, u.merchant_id, u.email, u.name, u.role, u.refund_limit, u.totp_confirmed_at, u.created_at, u.removed_at, "
    "EXISTS (SELECT 1 FROM merchant_passkeys p WHERE p.user_id = u.id)"
)
_INVITATION_COLUMNS = (
    "id, merchant_id, email, role, refund_limit, invited_by, created_at, expires_at, accepted_at, withdrawn_at"
)


def user_from_row(row: Sequence[Any]) -> MerchantUser:
    """A user from the columns ``USER_COLUMNS`` lists, in that order."""
    return MerchantUser(
        id=row[0],
        merchant_id=row[1],
        email=row[2],
        name=row[3],
        role=cast(Role, row[4]),
        refund_limit=None if row[5] is None else int(row[5]),
        authenticator=row[6] is not None,
        created_at=from_epoch_us(int(row[7])),
        removed_at=None if row[8] is None else from_epoch_us(int(row[8])),
        passkey=bool(row[9]),
    )


def _invitation(row: Sequence[Any]) -> Invitation:
    return Invitation(
        id=row[0],
        merchant_id=row[1],
        email=row[2],
        role=cast(Role, row[3]),
        refund_limit=None if row[4] is None else int(row[4]),
        invited_by=row[5],
        created_at=from_epoch_us(int(row[6])),
        expires_at=from_epoch_us(int(row[7])),
        accepted_at=None if row[8] is None else from_epoch_us(int(row[8])),
        withdrawn_at=None if row[9] is None else from_epoch_us(int(row[9])),
    )


# Users -------------------------------------------------------------------------------------------------------------


def insert_user(tx: RawTx, user: MerchantUser, password_hash: str, created_at: int) -> None:
    """Record a new user (the unique index on the email of users not removed refuses a second account)."""
    tx.execute(
        "INSERT INTO merchant_users (id, merchant_id, email, name, role, password_hash, refund_limit, created_at) "
        "VALUES (:id, :merchant, :email, :name, :role, :hash, :limit, :at)",
        {
            "id": user.id,
            "merchant": user.merchant_id,
            "email": user.email,
            "name": user.name,
            "role": user.role,
            "hash": password_hash,
            "limit": user.refund_limit,
            "at": created_at,
        },
    )


def find_user(tx: RawTx, user_id: str, merchant_id: str | None = None) -> MerchantUser | None:
    """A user not removed, by id (and of ``merchant_id`` when given: another merchant's user is None)."""
    params = {"id": user_id} if merchant_id is None else {"id": user_id, "merchant": merchant_id}
    of_merchant = "" if merchant_id is None else " AND u.merchant_id = :merchant"
    row = tx.fetchone(
        f"SELECT {USER_COLUMNS} FROM merchant_users u WHERE u.id = :id AND u.removed_at IS NULL{of_merchant}", params
    )
    return None if row is None else user_from_row(row)


def find_user_by_email(tx: RawTx, email: str) -> tuple[MerchantUser, str] | None:
    """The user not removed with this normalised email, and its password hash."""
    row = tx.fetchone(
        f"SELECT {USER_COLUMNS}, u.password_hash FROM merchant_users u WHERE u.email = :email AND u.removed_at IS NULL",
        {"email": email},
    )
    return None if row is None else (user_from_row(row), str(row[-1]))


def list_users(tx: RawTx, merchant_id: str) -> list[MerchantUser]:
    """The merchant's users not removed, oldest first."""
    rows = tx.fetchall(
        f"SELECT {USER_COLUMNS} FROM merchant_users u WHERE u.merchant_id = :merchant AND u.removed_at IS NULL "
        "ORDER BY u.created_at, u.id",
        {"merchant": merchant_id},
    )
    return [user_from_row(row) for row in rows]


def lock_team(tx: RawTx, merchant_id: str) -> bool:
    """Serialise changes to a merchant's team (its merchant row locked on PostgreSQL; SQLite's writers queue
    anyway), so that two owners demoting each other at once cannot leave it without one; False: no such merchant."""
    lock = " FOR UPDATE" if tx.is_postgres else ""
    return tx.fetchone(f"SELECT id FROM merchants WHERE id = :id{lock}", {"id": merchant_id}) is not None


def count_owners(tx: RawTx, merchant_id: str) -> int:
    """How many owners the merchant has (users not removed)."""
    row = tx.fetchone(
        "SELECT COUNT(*) FROM merchant_users WHERE merchant_id = :merchant AND role = 'owner' AND removed_at IS NULL",
        {"merchant": merchant_id},
    )
    return int(row[0])


def set_role(tx: RawTx, user_id: str, role: str, refund_limit: int | None) -> None:
    """Record a user's role and refund limit."""
    tx.execute(
        "UPDATE merchant_users SET role = :role, refund_limit = :limit WHERE id = :id",
        {"role": role, "limit": refund_limit, "id": user_id},
    )


def remove_user(tx: RawTx, user_id: str, at: int) -> None:
    """Mark a user removed (its row stays, for the audit trail) and end its sessions."""
    tx.execute("UPDATE merchant_users SET removed_at = :at WHERE id = :id", {"at": at, "id": user_id})
    end_sessions_of(tx, user_id)


def end_sessions_of(tx: RawTx, user_id: str) -> None:
    """End every dashboard session of a user, wherever its cookie was copied to."""
    tx.execute("DELETE FROM merchant_sessions WHERE user_id = :user", {"user": user_id})


def take_sign_in_attempt(tx: RawTx, user_id: str, limit: int, now: int, lock_until: int) -> bool:
    """Count an attempt as a failure before its password is checked; False when sign-in is locked (the customers'
    ``kleline.wallet.store.take_sign_in_attempt``, on this table: see its docstring)."""
    cursor = tx.execute(
        "UPDATE merchant_users SET "
        "locked_until = CASE WHEN failed_sign_ins + 1 >= :limit THEN :until ELSE NULL END, "
        "failed_sign_ins = CASE WHEN failed_sign_ins + 1 >= :limit THEN 0 ELSE failed_sign_ins + 1 END "
        "WHERE id = :id AND removed_at IS NULL AND (locked_until IS NULL OR locked_until <= :now)",
        {"limit": limit, "until": lock_until, "id": user_id, "now": now},
    )
    return bool(cursor.rowcount == 1)


def reset_failed_sign_ins(tx: RawTx, user_id: str) -> None:
    """A right password: the count of failures starts again, and the lock its own attempt may have set goes."""
    tx.execute("UPDATE merchant_users SET failed_sign_ins = 0, locked_until = NULL WHERE id = :id", {"id": user_id})


def lock_out(tx: RawTx, user_id: str, until: int) -> None:
    """Refuse the user's sign-ins until ``until`` (too many wrong codes), and end its sessions."""
    tx.execute(
        "UPDATE merchant_users SET locked_until = :until, failed_sign_ins = 0 WHERE id = :id",
        {"until": until, "id": user_id},
    )
    end_sessions_of(tx, user_id)


# The second factor -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Authenticator:
    """A user's sealed TOTP secret (None: none set up), whether a code confirmed it, and its guard."""

    sealed: SealedCard | None
    confirmed: bool
    guard: AuthGuard


def find_authenticator(tx: RawTx, user_id: str) -> Authenticator | None:
    """The user's authenticator state, its row locked for this transaction (PostgreSQL); None: no such user."""
    lock = " FOR UPDATE" if tx.is_postgres else ""
    row = tx.fetchone(
        "SELECT totp_key_id, totp_wrapped_key, totp_nonce, totp_ciphertext, totp_confirmed_at, totp_failures, "
        f"totp_last_step FROM merchant_users WHERE id = :id AND removed_at IS NULL{lock}",
        {"id": user_id},
    )
    if row is None:
        return None
    sealed = None if row[0] is None else SealedCard(row[0], bytes(row[1]), bytes(row[2]), bytes(row[3]))
    guard = AuthGuard(int(row[5]), None if row[6] is None else int(row[6]))
    return Authenticator(sealed, row[4] is not None, guard)


def save_pending_authenticator(tx: RawTx, user_id: str, sealed: SealedCard, at: int) -> bool:
    """Put a new secret in place of the user's unconfirmed one (or none); False when one is confirmed already."""
    cursor = tx.execute(
        "UPDATE merchant_users SET totp_key_id = :key_id, totp_wrapped_key = :wrapped, totp_nonce = :nonce, "
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


def confirm_authenticator(tx: RawTx, user_id: str, at: int) -> None:
    """Record that a code from the user's authenticator was accepted (the first time only)."""
    tx.execute(
        "UPDATE merchant_users SET totp_confirmed_at = :at WHERE id = :id AND totp_confirmed_at IS NULL",
        {"at": at, "id": user_id},
    )


def save_guard(tx: RawTx, user_id: str, guard: AuthGuard) -> None:
    """Record the user's consecutive wrong codes and last accepted time step."""
    tx.execute(
        "UPDATE merchant_users SET totp_failures = :failures, totp_last_step = :step WHERE id = :id",
        {"failures": guard.consecutive_failures, "step": guard.last_accepted_step, "id": user_id},
    )


SecretSlot = Literal["current", "replacement"]
_SLOT_COLUMNS: Final[dict[str, str]] = {"current": "totp", "replacement": "totp_next"}
"""Where a user's sealed authenticator secret lives: the confirmed app's columns (``totp_*``), or those of a
replacement being set up (``totp_next_*``), which key rotation re-wraps alike."""


def authenticators_not_under(
    tx: RawTx, key_id: str, limit: int, slot: SecretSlot = "current"
) -> list[tuple[str, SealedCard]]:
    """Up to ``limit`` users whose secret in ``slot`` is wrapped under another master key than ``key_id``."""
    c = _SLOT_COLUMNS[slot]
    rows = tx.fetchall(
        f"SELECT id, {c}_key_id, {c}_wrapped_key, {c}_nonce, {c}_ciphertext FROM merchant_users "
        f"WHERE {c}_key_id IS NOT NULL AND {c}_key_id <> :key_id ORDER BY id LIMIT :limit",
        {"key_id": key_id, "limit": limit},
    )
    return [(r[0], SealedCard(r[1], bytes(r[2]), bytes(r[3]), bytes(r[4]))) for r in rows]


def save_rewrapped(tx: RawTx, user_id: str, old_key_id: str, sealed: SealedCard, slot: SecretSlot = "current") -> None:
    """Store a re-wrapped secret in ``slot``, unless a concurrent rotation (or a change of it) moved it already."""
    c = _SLOT_COLUMNS[slot]
    tx.execute(
        f"UPDATE merchant_users SET {c}_key_id = :key_id, {c}_wrapped_key = :wrapped WHERE id = :id "
        f"AND {c}_key_id = :old",
        {"key_id": sealed.key_id, "wrapped": sealed.wrapped_key, "id": user_id, "old": old_key_id},
    )


# Invitations -------------------------------------------------------------------------------------------------------


def insert_invitation(tx: RawTx, invitation: Invitation, token_hash: bytes, created_at: int, expires_at: int) -> None:
    """Record a new invitation under its token's digest."""
    tx.execute(
        f"INSERT INTO merchant_invitations ({_INVITATION_COLUMNS}, token_hash) VALUES (:id, :merchant, :email, "
        ":role, :limit, :by, :created, :expires, NULL, NULL, :hash)",
        {
            "id": invitation.id,
            "merchant": invitation.merchant_id,
            "email": invitation.email,
            "role": invitation.role,
            "limit": invitation.refund_limit,
            "by": invitation.invited_by,
            "created": created_at,
            "expires": expires_at,
            "hash": token_hash,
        },
    )


def find_invitation_by_token(tx: RawTx, token_hash: bytes) -> Invitation | None:
    """The invitation whose token has this digest, whatever its state."""
    row = tx.fetchone(
        f"SELECT {_INVITATION_COLUMNS} FROM merchant_invitations WHERE token_hash = :hash", {"hash": token_hash}
    )
    return None if row is None else _invitation(row)


def find_invitation(tx: RawTx, merchant_id: str, invitation_id: str) -> Invitation | None:
    """One of the merchant's invitations (another merchant's is None)."""
    row = tx.fetchone(
        f"SELECT {_INVITATION_COLUMNS} FROM merchant_invitations WHERE id = :id AND merchant_id = :merchant",
        {"id": invitation_id, "merchant": merchant_id},
    )
    return None if row is None else _invitation(row)


def pending_invitations(tx: RawTx, merchant_id: str, now: int) -> list[Invitation]:
    """The merchant's invitations neither accepted, withdrawn nor expired, newest first."""
    rows = tx.fetchall(
        f"SELECT {_INVITATION_COLUMNS} FROM merchant_invitations WHERE merchant_id = :merchant "
        "AND accepted_at IS NULL AND withdrawn_at IS NULL AND expires_at > :now ORDER BY created_at DESC, id DESC",
        {"merchant": merchant_id, "now": now},
    )
    return [_invitation(row) for row in rows]


def accept_invitation(tx: RawTx, invitation_id: str, now: int) -> bool:
    """Mark a pending invitation accepted; False if it was used, withdrawn or expired meanwhile (single use, even
    when two browsers follow the link at once)."""
    cursor = tx.execute(
        "UPDATE merchant_invitations SET accepted_at = :now WHERE id = :id AND accepted_at IS NULL "
        "AND withdrawn_at IS NULL AND expires_at > :now",
        {"now": now, "id": invitation_id},
    )
    return bool(cursor.rowcount == 1)


def withdraw_invitation(tx: RawTx, invitation_id: str, now: int) -> bool:
    """Withdraw a pending invitation; False if it was no longer pending."""
    cursor = tx.execute(
        "UPDATE merchant_invitations SET withdrawn_at = :now WHERE id = :id AND accepted_at IS NULL "
        "AND withdrawn_at IS NULL AND expires_at > :now",
        {"now": now, "id": invitation_id},
    )
    return bool(cursor.rowcount == 1)


def withdraw_pending_for(tx: RawTx, merchant_id: str, email: str, now: int) -> None:
    """Withdraw the merchant's pending invitations of ``email``: a new one replaces them (only the newest works)."""
    tx.execute(
        "UPDATE merchant_invitations SET withdrawn_at = :now WHERE merchant_id = :merchant AND email = :email "
        "AND accepted_at IS NULL AND withdrawn_at IS NULL AND expires_at > :now",
        {"now": now, "merchant": merchant_id, "email": email},
    )


# The audit trail ---------------------------------------------------------------------------------------------------


def insert_audit(
    tx: RawTx,
    audit_id: str,
    merchant_id: str,
    user_id: str | None,
    at: int,
    action: str,
    object_id: str | None,
    detail: Mapping[str, object],
    address: str | None,
) -> None:
    """Record one action (in the transaction of the action itself: both are kept, or neither)."""
    tx.defer(
        "INSERT INTO merchant_audit (id, merchant_id, user_id, at, action, object_id, detail, address) "
        "VALUES (:id, :merchant, :user, :at, :action, :object, :detail, :address)",
        {
            "id": audit_id,
            "merchant": merchant_id,
            "user": user_id,
            "at": at,
            "action": action,
            "object": object_id,
            "detail": json.dumps(dict(detail), sort_keys=True, separators=(",", ":")),
            "address": address,
        },
    )


def audit_page(tx: RawTx, merchant_id: str, limit: int, before: tuple[int, str] | None) -> list[AuditRecord]:
    """Up to ``limit`` of the merchant's records, newest first, before ``(at, id)`` if given (keyset paging), with
    the name and email of who acted (a removed user's too)."""
    params: dict[str, object] = {"merchant": merchant_id, "limit": limit}
    after = ""
    if before is not None:
        after = "AND (a.at < :at OR (a.at = :at AND a.id < :id)) "
        params.update(at=before[0], id=before[1])
    rows = tx.fetchall(
        "SELECT a.id, a.merchant_id, a.user_id, a.at, a.action, a.object_id, a.detail, a.address, u.name, u.email "
        "FROM merchant_audit a LEFT JOIN merchant_users u ON u.id = a.user_id "
        f"WHERE a.merchant_id = :merchant {after}ORDER BY a.at DESC, a.id DESC LIMIT :limit",
        params,
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
            user_name=r[8],
            user_email=r[9],
        )
        for r in rows
    ]


def audit_details(tx: RawTx, merchant_id: str, action: str, object_ids: list[str]) -> dict[str, dict[str, object]]:
    """The details of the merchant's records of ``action`` on each of ``object_ids`` (the newest when several)."""
    if not object_ids:
        return {}
    marks = ", ".join(f":o{n}" for n in range(len(object_ids)))
    params: dict[str, object] = {"merchant": merchant_id, "action": action}
    params.update({f"o{n}": object_id for n, object_id in enumerate(object_ids)})
    rows = tx.fetchall(
        "SELECT object_id, detail FROM merchant_audit WHERE merchant_id = :merchant AND action = :action "
        f"AND object_id IN ({marks}) ORDER BY at, id",
        params,
    )
    return {str(r[0]): json.loads(r[1]) if r[1] else {} for r in rows}
