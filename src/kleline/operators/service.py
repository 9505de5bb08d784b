"""Operator API keys: created by ``kleline operator create-key``, shown once, stored as a hash.

A key is 256 random bits, so a plain SHA-256 digest is enough to store it: a slow password hash protects low-entropy
secrets, and would only slow every authenticated request here.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from kleline.clock import Clock, system_clock
from kleline.db.engine import Database
from kleline.errors import KlelineError
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Role

__all__ = ["InvalidKey", "OperatorKey", "authenticate", "authenticate_actor", "create_key", "revoke_key"]

PREFIX = "op_"


class InvalidKey(KlelineError):
    """The key is unknown, revoked, or not an operator key."""

    code = "unauthorized"
    status = 401


@dataclass(frozen=True, slots=True)
class OperatorKey:
    """A key as it is shown once at creation: ``secret`` is never stored."""

    id: int
    label: str
    secret: str
    role: Role | None = None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def create_key(db: Database, label: str, *, role: Role | None = None, clock: Clock = system_clock) -> OperatorKey:
    """A new operator key acting in ``role`` (None: every power); its secret is returned here and never again."""
    secret = PREFIX + secrets.token_urlsafe(32)
    with db.transaction() as tx:
        row = tx.fetchone(
            "INSERT INTO operator_keys (key_hash, label, created_at, role) VALUES (:hash, :label, :at, :role)"
            " RETURNING id",
            {"hash": _digest(secret), "label": label, "at": clock().isoformat(), "role": role.value if role else None},
        )
    return OperatorKey(int(row[0]), label, secret, role)


def authenticate(db: Database, secret: str) -> int:
    """The id of the live operator key ``secret``; ``InvalidKey`` otherwise."""
    if not secret.startswith(PREFIX):
        raise InvalidKey("not an operator key")
    with db.transaction(write=False) as tx:
        row = tx.fetchone(
            "SELECT id FROM operator_keys WHERE key_hash = :hash AND revoked_at IS NULL", {"hash": _digest(secret)}
        )
    if row is None:
        raise InvalidKey("unknown or revoked operator key")
    return int(row[0])


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


def revoke_key(db: Database, key_id: int, *, clock: Clock = system_clock) -> bool:
    """Revoke a key by id; False if there was no live key with that id."""
    with db.transaction() as tx:
        row = tx.fetchone(
            "UPDATE operator_keys SET revoked_at = :at WHERE id = :id AND revoked_at IS NULL RETURNING id",
            {"at": clock().isoformat(), "id": key_id},
        )
    return row is not None
