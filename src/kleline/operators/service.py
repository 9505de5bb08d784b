"""Operator API keys: created by ``kleline operator create-key --role ROLE`` (or an operator who manages staff),
shown once, stored as a hash.

A key is 256 random bits, so a plain SHA-256 digest is enough to store it: a slow password hash protects low-entropy
secrets, and would only slow every authenticated request here.

A new key always acts in a role. A key made before roles existed has none and keeps every power: ``legacy_keys``
counts those still live, so that ``kleline config`` can say to revoke them. Creating and revoking a key is a staff act,
recorded in the staff audit trail in the same transaction (the key's number, label and role; never its secret).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from kleline.clock import Clock, system_clock
from kleline.db.engine import Database
from kleline.errors import KlelineError, NotFound, ValidationError
from kleline.staff import audit
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power, Role

__all__ = [
    "InvalidKey",
    "KeyInfo",
    "OperatorKey",
    "UnknownOperatorKey",
    "authenticate_actor",
    "create_key",
    "legacy_keys",
    "list_keys",
    "revoke_key",
]

PREFIX = "op_"
LABEL_LENGTH = 200


class InvalidKey(KlelineError):
    """The key is unknown, revoked, or not an operator key."""

    code = "unauthorized"
    status = 401


class UnknownOperatorKey(NotFound):
    """No live operator key has this number."""


@dataclass(frozen=True, slots=True)
class OperatorKey:
    """A key as it is shown once at creation: ``secret`` is never stored."""

    id: int
    label: str
    secret: str
    role: Role | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as it is listed: never its secret; ``role`` None for a key made before roles (every power)."""

    id: int
    label: str
    role: Role | None
    created_at: datetime
    revoked_at: datetime | None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def create_key(db: Database, label: str, *, role: Role, actor: StaffActor, clock: Clock = system_clock) -> OperatorKey:
    """A new operator key acting in ``role``; its secret is returned here and never again. ``actor``'s role must
    manage staff; the key's creation is recorded."""
    actor.require(Power.MANAGE_STAFF)
    label = label.strip()
    if not label or len(label) > LABEL_LENGTH:
        raise ValidationError(f"label: 1 to {LABEL_LENGTH} characters saying who or what the key is for", param="label")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = clock()
    with db.transaction() as tx:
        row = tx.fetchone(
            "INSERT INTO operator_keys (key_hash, label, created_at, role) VALUES (:hash, :label, :at, :role)"
            " RETURNING id",
            {"hash": _digest(secret), "label": label, "at": now.isoformat(), "role": role.value},
        )
        key_id = int(row[0])
        after = {"label": label, "role": role.value}
        audit.record(tx, actor, "operator_key_created", "operator_key", str(key_id), at=now, after=after)
    return OperatorKey(key_id, label, secret, role, now)


def authenticate_actor(db: Database, secret: str, address: str | None = None) -> StaffActor:
    """The live operator key ``secret`` as an actor (its number and role); ``InvalidKey`` otherwise."""
    if not secret.startswith(PREFIX):
        raise InvalidKey("not an operator key")
    with db.transaction(write=False) as tx:
        row = tx.fetchone(
            "SELECT id, role FROM operator_keys WHERE key_hash = :hash AND revoked_at IS NULL",
            {"hash": _digest(secret)},
        )
    if row is None:
        raise InvalidKey("unknown or revoked operator key")
    return StaffActor("key", str(row[0]), Role(row[1]) if row[1] else None, address)


def revoke_key(db: Database, key_id: int, *, actor: StaffActor, clock: Clock = system_clock) -> KeyInfo:
    """Revoke the live key ``key_id`` (``UnknownOperatorKey`` if there is none): from now on it is refused.
    ``actor``'s role must manage staff; the revocation is recorded."""
    actor.require(Power.MANAGE_STAFF)
    now = clock()
    with db.transaction() as tx:
        row = tx.fetchone(
            "UPDATE operator_keys SET revoked_at = :at WHERE id = :id AND revoked_at IS NULL"
            " RETURNING id, label, role, created_at, revoked_at",
            {"at": now.isoformat(), "id": key_id},
        )
        if row is None:
            raise UnknownOperatorKey(f"no live operator key {key_id}", param="id")
        revoked = _info(row)
        before = {"label": revoked.label, "role": None if revoked.role is None else revoked.role.value}
        after = {**before, "revoked": True}
        audit.record(tx, actor, "operator_key_revoked", "operator_key", str(key_id), at=now, before=before, after=after)
    return revoked


def list_keys(db: Database, *, include_revoked: bool = False) -> list[KeyInfo]:
    """The operator keys, newest first: the live ones, or every one with ``include_revoked``."""
    live = "" if include_revoked else " WHERE revoked_at IS NULL"
    with db.transaction(write=False) as tx:
        rows = tx.fetchall(f"SELECT id, label, role, created_at, revoked_at FROM operator_keys{live} ORDER BY id DESC")
    return [_info(row) for row in rows]


def legacy_keys(db: Database) -> int:
    """How many live keys were made before roles existed (no role: every power)."""
    with db.transaction(write=False) as tx:
        row = tx.fetchone("SELECT COUNT(*) FROM operator_keys WHERE role IS NULL AND revoked_at IS NULL")
    return int(row[0])


def _info(row: tuple[object, ...]) -> KeyInfo:
    key_id, label, role, created_at, revoked_at = row
    return KeyInfo(
        int(str(key_id)),
        str(label),
        Role(str(role)) if role else None,
        datetime.fromisoformat(str(created_at)),
        None if revoked_at is None else datetime.fromisoformat(str(revoked_at)),
    )
