"""The staff users' SQL: people (their lockout counters and sealed authenticator are ``kleline.identity``'s, on
``DIRECTORY``) and invitations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import RawTx
from kleline.identity import lockout
from kleline.identity.directory import Directory
from kleline.staff.roles import Role
from kleline.staff_users.model import StaffInvitation, StaffUser

__all__ = [
    "DIRECTORY",
    "USER_COLUMNS",
    "accept_invitation",
    "count_active_admins",
    "disable_user",
    "find_active_by_email",
    "find_invitation",
    "find_invitation_by_token",
    "find_user",
    "insert_invitation",
    "insert_user",
    "list_users",
    "lock_admins",
    "password_hash",
    "pending_invitations",
    "set_password_hash",
    "set_role",
    "user_from_row",
    "withdraw_invitation",
    "withdraw_pending_for",
]

DIRECTORY: Final = Directory(
    "staff_users", "disabled_at", "staff_sessions", "staff_passkeys", "staff_passkey_ceremonies"
)
"""The staff users' tables, for the SQL every kind of back-office person shares (``kleline.identity``)."""

USER_COLUMNS: Final = (
    "u.id, u.email, u.role, u.totp_confirmed_at, u.created_at, u.disabled_at, "
    "EXISTS (SELECT 1 FROM staff_passkeys p WHERE p.user_id = u.id)"
)
_INVITATION_COLUMNS: Final = "id, email, role, invited_by, created_at, expires_at, accepted_at, withdrawn_at"


def user_from_row(row: Sequence[Any]) -> StaffUser:
    """A staff user from the columns ``USER_COLUMNS`` lists, in that order."""
    return StaffUser(
        id=row[0],
        email=row[1],
        role=Role(row[2]),
        authenticator=row[3] is not None,
        created_at=from_epoch_us(int(row[4])),
        disabled_at=None if row[5] is None else from_epoch_us(int(row[5])),
        passkey=bool(row[6]),
    )


def _invitation(row: Sequence[Any]) -> StaffInvitation:
    return StaffInvitation(
        id=row[0],
        email=row[1],
        role=Role(row[2]),
        invited_by=row[3],
        created_at=from_epoch_us(int(row[4])),
        expires_at=from_epoch_us(int(row[5])),
        accepted_at=None if row[6] is None else from_epoch_us(int(row[6])),
        withdrawn_at=None if row[7] is None else from_epoch_us(int(row[7])),
    )


# People ------------------------------------------------------------------------------------------------------------


def insert_user(tx: RawTx, user: StaffUser, password_hash: str, invitation_id: str | None) -> None:
    """Record a new staff user (the unique index on the email of people not disabled refuses a second one)."""
    tx.execute(
        "INSERT INTO staff_users (id, email, role, password_hash, invitation_id, created_at) "
        "VALUES (:id, :email, :role, :hash, :invitation, :at)",
        {
            "id": user.id,
            "email": user.email,
            "role": user.role.value,
            "hash": password_hash,
            "invitation": invitation_id,
            "at": epoch_us(user.created_at),
        },
    )


def find_user(tx: RawTx, user_id: str) -> StaffUser | None:
    """A staff user by id, disabled or not."""
    row = tx.fetchone(f"SELECT {USER_COLUMNS} FROM staff_users u WHERE u.id = :id", {"id": user_id})
    return None if row is None else user_from_row(row)


def find_active_by_email(tx: RawTx, email: str) -> tuple[StaffUser, str] | None:
    """The active staff user with this normalised email, and its password hash."""
    row = tx.fetchone(
        f"SELECT {USER_COLUMNS}, u.password_hash FROM staff_users u WHERE u.email = :email AND u.disabled_at IS NULL",
        {"email": email},
    )
    return None if row is None else (user_from_row(row), str(row[-1]))


def list_users(tx: RawTx) -> list[StaffUser]:
    """Every staff user, the active ones first, then by email."""
    rows = tx.fetchall(
        f"SELECT {USER_COLUMNS} FROM staff_users u ORDER BY CASE WHEN u.disabled_at IS NULL THEN 0 ELSE 1 END, "
        "u.email, u.created_at"
    )
    return [user_from_row(row) for row in rows]


def lock_admins(tx: RawTx) -> None:
    """Serialise changes of role and status (the active admins' rows locked on PostgreSQL; SQLite's writers queue
    anyway), so that two admins demoting or disabling each other at once cannot leave the staff without one."""
    if tx.is_postgres:
        tx.fetchall("SELECT id FROM staff_users WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id FOR UPDATE")


def count_active_admins(tx: RawTx) -> int:
    """How many active admins the staff has."""
    row = tx.fetchone("SELECT COUNT(*) FROM staff_users WHERE role = 'admin' AND disabled_at IS NULL")
    return int(row[0])


def set_role(tx: RawTx, user_id: str, role: Role) -> None:
    """Record a staff user's new role."""
    tx.execute("UPDATE staff_users SET role = :role WHERE id = :id", {"role": role.value, "id": user_id})


def disable_user(tx: RawTx, user_id: str, at: int) -> bool:
    """Disable an active staff user (its row stays) and end its sessions; False if it was disabled already."""
    cursor = tx.execute(
        "UPDATE staff_users SET disabled_at = :at WHERE id = :id AND disabled_at IS NULL", {"at": at, "id": user_id}
    )
    lockout.end_sessions_of(tx, DIRECTORY, user_id)
    return bool(cursor.rowcount == 1)


def password_hash(tx: RawTx, user_id: str) -> str | None:
    """The password hash of an active staff user, or None."""
    row = tx.fetchone("SELECT password_hash FROM staff_users WHERE id = :id AND disabled_at IS NULL", {"id": user_id})
    return None if row is None else str(row[0])


def set_password_hash(tx: RawTx, user_id: str, new_hash: str) -> None:
    """Record a staff user's new password hash."""
    tx.execute("UPDATE staff_users SET password_hash = :hash WHERE id = :id", {"hash": new_hash, "id": user_id})


# Invitations -------------------------------------------------------------------------------------------------------


def insert_invitation(
    tx: RawTx, invitation: StaffInvitation, token_hash: bytes, created_at: int, expires_at: int
) -> None:
    """Record a new invitation under its token's digest."""
    tx.execute(
        f"INSERT INTO staff_invitations ({_INVITATION_COLUMNS}, token_hash) VALUES (:id, :email, :role, :by, "
        ":created, :expires, NULL, NULL, :hash)",
        {
            "id": invitation.id,
            "email": invitation.email,
            "role": invitation.role.value,
            "by": invitation.invited_by,
            "created": created_at,
            "expires": expires_at,
            "hash": token_hash,
        },
    )


def find_invitation_by_token(tx: RawTx, token_hash: bytes) -> StaffInvitation | None:
    """The invitation whose token has this digest, whatever its state."""
    row = tx.fetchone(
        f"SELECT {_INVITATION_COLUMNS} FROM staff_invitations WHERE token_hash = :hash", {"hash": token_hash}
    )
    return None if row is None else _invitation(row)


def find_invitation(tx: RawTx, invitation_id: str) -> StaffInvitation | None:
    """An invitation by id, whatever its state."""
    row = tx.fetchone(f"SELECT {_INVITATION_COLUMNS} FROM staff_invitations WHERE id = :id", {"id": invitation_id})
    return None if row is None else _invitation(row)


def pending_invitations(tx: RawTx, now: int) -> list[StaffInvitation]:
    """The invitations neither accepted, withdrawn nor expired, newest first."""
    rows = tx.fetchall(
        f"SELECT {_INVITATION_COLUMNS} FROM staff_invitations WHERE accepted_at IS NULL AND withdrawn_at IS NULL "
        "AND expires_at > :now ORDER BY created_at DESC, id DESC",
        {"now": now},
    )
    return [_invitation(row) for row in rows]


def accept_invitation(tx: RawTx, invitation_id: str, user_id: str, now: int) -> bool:
    """Mark a pending invitation accepted by ``user_id``; False if it was used, withdrawn or expired meanwhile
    (single use, even when two browsers follow the link at once)."""
    cursor = tx.execute(
        "UPDATE staff_invitations SET accepted_at = :now, user_id = :user WHERE id = :id AND accepted_at IS NULL "
        "AND withdrawn_at IS NULL AND expires_at > :now",
        {"now": now, "user": user_id, "id": invitation_id},
    )
    return bool(cursor.rowcount == 1)


def withdraw_invitation(tx: RawTx, invitation_id: str, now: int) -> bool:
    """Withdraw a pending invitation; False if it was no longer pending."""
    cursor = tx.execute(
        "UPDATE staff_invitations SET withdrawn_at = :now WHERE id = :id AND accepted_at IS NULL "
        "AND withdrawn_at IS NULL AND expires_at > :now",
        {"now": now, "id": invitation_id},
    )
    return bool(cursor.rowcount == 1)


def withdraw_pending_for(tx: RawTx, email: str, now: int) -> None:
    """Withdraw the pending invitations of ``email``: a new one replaces them (only the newest works)."""
    tx.execute(
        "UPDATE staff_invitations SET withdrawn_at = :now WHERE email = :email AND accepted_at IS NULL "
        "AND withdrawn_at IS NULL AND expires_at > :now",
        {"now": now, "email": email},
    )
