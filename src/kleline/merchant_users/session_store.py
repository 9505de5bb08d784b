"""The dashboard sessions' SQL (``merchant_sessions``): a digest of the cookie's token, the stage, the user; the
statements every kind of back-office person's sessions share (``kleline.identity.session_store``), on this table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kleline.db.engine import RawTx
from kleline.identity import session_store as shared
from kleline.merchant_users.model import MerchantUser
from kleline.merchant_users.store import DIRECTORY, USER_COLUMNS, user_from_row

__all__ = [
    "StoredSession",
    "delete_session",
    "find_session",
    "purge_expired",
    "set_second_factor_at",
]


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A session as stored: its stage, its forms' token, its last second factor, its expiry, and its user (None
    when anonymous, or when the user was removed meanwhile)."""

    stage: str
    csrf_secret: str = field(repr=False)
    second_factor_at: datetime | None
    expires_at: datetime
    user: MerchantUser | None


def find_session(tx: RawTx, id_hash: bytes, now: int) -> StoredSession | None:
    """A live session and its user (None when anonymous, or when the user was removed meanwhile), in one query."""
    found = shared.find_session(tx, DIRECTORY, id_hash, now, USER_COLUMNS)
    if found is None:
        return None
    user = None if found.user_row is None else user_from_row(found.user_row)
    return StoredSession(found.stage, found.csrf_secret, found.second_factor_at, found.expires_at, user)


def set_second_factor_at(tx: RawTx, id_hash: bytes, at: int) -> bool:
    """Record a second factor just given in a signed-in session; False if the session is gone."""
    return shared.set_second_factor_at(tx, DIRECTORY, id_hash, at)


def delete_session(tx: RawTx, id_hash: bytes) -> bool:
    """End a session; False if there was none."""
    return shared.delete_session(tx, DIRECTORY, id_hash)


def purge_expired(tx: RawTx, now: int) -> None:
    """Forget a bounded batch of expired sessions (each new session does: no sweep job, no long delete)."""
    shared.purge_expired(tx, DIRECTORY, now)
