"""The merchant users' SQL: users (with their lockout counters and sealed authenticator), invitations, audit trail."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

from kleline.clock import from_epoch_us
from kleline.db.engine import RawTx
from kleline.identity import authenticator_store, lockout
from kleline.identity.authenticator_store import Authenticator
from kleline.identity.directory import Directory
from kleline.merchant_users.model import AuditRecord, Invitation, MerchantUser, Role

__all__ = [
    "DIRECTORY",
    "USER_COLUMNS",
    "Authenticator",
    "accept_invitation",
    "audit_page",
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
    "lock_team",
    "pending_invitations",
    "remove_user",
    "reset_failed_sign_ins",
    "set_role",
    "user_from_row",
    "withdraw_invitation",
    "withdraw_pending_for",
]

DIRECTORY: Final = Directory(
    "merchant_users", "removed_at", "merchant_sessions", "merchant_passkeys", "merchant_passkey_ceremonies"
)
"""The merchant users' tables, for the SQL every kind of back-office person shares (``kleline.identity``)."""

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
    lockout.end_sessions_of(tx, DIRECTORY, user_id)


def reset_failed_sign_ins(tx: RawTx, user_id: str) -> None:
    """A right password: the count of failures starts again, and the lock its own attempt may have set goes."""
    lockout.reset_failed_sign_ins(tx, DIRECTORY, user_id)


# The second factor -------------------------------------------------------------------------------------------------


def find_authenticator(tx: RawTx, user_id: str) -> Authenticator | None:
    """The user's authenticator state, its row locked for this transaction (PostgreSQL); None: no such user
    (``kleline.identity.authenticator_store``, on this table)."""
    return authenticator_store.find_authenticator(tx, DIRECTORY, user_id)


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
