"""A new session's tokens, and what is stored of them: the one way every kind of people's session is opened.

Every step up of a sign-in (the password, the second factor, a new second factor set up, a new password) ends the
session it started from and opens a new one with a new token, so that no token planted or seen before the step
outlives it. A cookie's token is never stored: only its SHA-256 digest (``digest``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kleline.clock import epoch_us
from kleline.db.engine import RawTx
from kleline.identity import session_store
from kleline.identity.directory import Directory

__all__ = ["NewSession", "digest", "open_session"]


@dataclass(frozen=True, slots=True)
class NewSession:
    """The tokens of a session just recorded: ``token`` for the cookie, ``csrf_token`` for its forms."""

    token: str = field(repr=False)
    csrf_token: str = field(repr=False)
    expires_at: datetime


def digest(token: str) -> bytes:
    """What is stored of a session's token."""
    return hashlib.sha256(token.encode()).digest()


def open_session(
    tx: RawTx,
    d: Directory,
    user_id: str | None,
    stage: str,
    second_factor_at: datetime | None,
    now: datetime,
    ttl: timedelta,
) -> NewSession:
    """Record a new session with fresh tokens, valid ``ttl`` from ``now``."""
    made = NewSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now + ttl)
    session_store.insert_session(
        tx,
        d,
        digest(made.token),
        user_id,
        stage,
        made.csrf_token,
        None if second_factor_at is None else epoch_us(second_factor_at),
        epoch_us(now),
        epoch_us(made.expires_at),
    )
    return made
