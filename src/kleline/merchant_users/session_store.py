"""The dashboard sessions' SQL (``merchant_sessions``): a digest of the cookie's token, the stage, the user; the
statements every kind of back-office person's sessions share (``kleline.identity.session_store``), on this table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kleline.db.engine import RawTx
from kleline.identity import session_store as shared
from kleline.merchant_users.model import MerchantUser
from kleline.merchant_users.store import DIRECTORY, USER_COLUMNS, user_from_row
from kleline.merchants import Merchant
from kleline.merchants.store import MALLS_JOIN, MERCHANT_COLUMNS, MERCHANT_WIDTH, merchant_from_rows

__all__ = [
    "StoredSession",
    "delete_session",
    "find_session",
    "purge_expired",
    "set_second_factor_at",
]


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A session as stored: its stage, its forms' token, its last second factor, its expiry, its user (None when
    anonymous, or when the user was removed meanwhile) and the user's shop."""

    stage: str
    csrf_secret: str = field(repr=False)
    second_factor_at: datetime | None
    expires_at: datetime
    user: MerchantUser | None
    merchant: Merchant | None = None


def find_session(tx: RawTx, id_hash: bytes, now: int) -> StoredSession | None:
    """A live session, its user (None when anonymous, or when the user was removed meanwhile) and the user's shop
    as it is now, in one query: every page of the dashboard needs all three."""
    found = shared.find_session(
        tx,
        DIRECTORY,
        id_hash,
        now,
        f"{USER_COLUMNS}, {MERCHANT_COLUMNS}",
        joins=f" LEFT JOIN merchants m ON m.id = u.merchant_id {MALLS_JOIN}",
    )
    if found is None:
        return None
    user = merchant = None
    if found.user_row is not None:
        user = user_from_row(found.user_row[:-MERCHANT_WIDTH])
        merchant = merchant_from_rows([row[-MERCHANT_WIDTH:] for row in (found.user_row, *found.more_rows)])
    return StoredSession(found.stage, found.csrf_secret, found.second_factor_at, found.expires_at, user, merchant)


def set_second_factor_at(tx: RawTx, id_hash: bytes, at: int) -> bool:
    """Record a second factor just given in a signed-in session; False if the session is gone."""
    return shared.set_second_factor_at(tx, DIRECTORY, id_hash, at)


def delete_session(tx: RawTx, id_hash: bytes) -> bool:
    """End a session; False if there was none."""
    return shared.delete_session(tx, DIRECTORY, id_hash)


def purge_expired(tx: RawTx, now: int) -> None:
    """Forget a bounded batch of expired sessions (each new session does: no sweep job, no long delete)."""
    shared.purge_expired(tx, DIRECTORY, now)
