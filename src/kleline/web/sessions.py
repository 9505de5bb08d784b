"""Server-side sessions of the pages: a random token in a cookie, everything else in the database.

The cookie carries only a 256-bit random token; the database keeps its SHA-256 digest (a slow hash protects
guessable secrets, not random ones), the customer once signed in, the synchroniser token of the session's forms
(see ``kleline.web.csrf``) and the expiry. Nothing a page needs lives in the cookie, so that signing out or expiring
a session ends it for good, wherever the cookie was copied to.

Signing in replaces the session with a new one (new token, new form token): a token planted in a browser before
sign-in (session fixation) never becomes a signed-in session.

The cookie is ``__Host-kleline_session`` when the pages are public over HTTPS: ``Secure``, ``Path=/``, no
``Domain``, which the ``__Host-`` prefix makes browsers enforce. Over plain HTTP (local development and tests)
browsers refuse ``Secure`` cookies and the prefix, so the name is ``kleline_session`` without ``Secure``. Both are
``HttpOnly`` (no script reads them) and ``SameSite=Lax`` (sent when a shop links to a checkout page, not with a
cross-site form post).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.responses import Response

from kleline.clock import Clock, epoch_us, from_epoch_us
from kleline.db.engine import Database, RawTx
from kleline.wallet.customers import Customers
from kleline.wallet.model import Customer

__all__ = ["FLASH_COOKIE", "CookiePolicy", "FoundSession", "WebSession", "WebSessions", "cookie_policy"]

FLASH_COOKIE: Final = "kleline_flash"
"""A one-time note for the next page (``kleline.web.flashes``): what just succeeded, such as a card added."""
SECURE_COOKIE: Final = "__Host-kleline_session"
PLAIN_COOKIE: Final = "kleline_session"
_PURGE_BATCH: Final = 100


@dataclass(frozen=True, slots=True)
class WebSession:
    """A live session: ``token`` is the cookie's value (never stored), ``csrf_token`` the forms' hidden field."""

    token: str = field(repr=False)
    customer_id: str | None
    csrf_token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class FoundSession:
    """A live session as a page found it: the session, its customer (None when anonymous or gone), and the value
    asked ``beside`` them (None when none was)."""

    session: WebSession
    customer: Customer | None
    beside: Any = None


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    """How the session cookie is named and flagged, from the address the pages are served at."""

    name: str
    secure: bool

    def set(self, response: Response, session: WebSession, max_age: int) -> None:
        """Give the browser ``session``'s token."""
        response.set_cookie(
            self.name, session.token, max_age=max_age, path="/", secure=self.secure, httponly=True, samesite="lax"
        )

    def clear(self, response: Response) -> None:
        """Tell the browser to forget its session cookie."""
        response.delete_cookie(self.name, path="/", secure=self.secure, httponly=True, samesite="lax")

    def flash(self, response: Response, note: str) -> None:
        """Leave ``note`` for the next page the browser opens (a few minutes at most)."""
        response.set_cookie(
            FLASH_COOKIE, note, max_age=300, path="/", secure=self.secure, httponly=True, samesite="lax"
        )

    def clear_flash(self, response: Response) -> None:
        """The note was shown: the browser forgets it."""
        response.delete_cookie(FLASH_COOKIE, path="/", secure=self.secure, httponly=True, samesite="lax")


def cookie_policy(public_url: str) -> CookiePolicy:
    """``__Host-`` and ``Secure`` when the pages are public over HTTPS; a plain name over HTTP."""
    if urlsplit(public_url).scheme == "https":
        return CookiePolicy(SECURE_COOKIE, secure=True)
    return CookiePolicy(PLAIN_COOKIE, secure=False)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class WebSessions:
    """Start, find, sign in and end the pages' sessions."""

    def __init__(self, db: Database, *, clock: Clock, ttl: timedelta) -> None:
        self._db = db
        self._clock = clock
        self.ttl = ttl

    def start(self) -> WebSession:
        """A new anonymous session (its form token lets the visitor sign in); expired sessions are purged."""
        with self._db.transaction() as tx:
            _purge_expired(tx, epoch_us(self._clock()))
            return self._insert(tx, None)

    def find(self, token: str) -> WebSession | None:
        """The live session behind a cookie's token, or None (unknown, ended or expired)."""
        if not token or len(token) > 200:
            return None
        with self._db.transaction(write=False) as tx:
            row = tx.fetchone(
                "SELECT customer_id, csrf_secret, expires_at FROM web_sessions "
                "WHERE id_hash = :hash AND expires_at > :now",
                {"hash": _digest(token), "now": epoch_us(self._clock())},
            )
        if row is None:
            return None
        return WebSession(token, row[0], row[1], from_epoch_us(int(row[2])))

    def find_with_customer(
        self, token: str, customers: Customers, *, beside: tuple[str, Mapping[str, Any]] | None = None
    ) -> FoundSession | None:
        """``find``, and the session's customer read in the same statement (None when anonymous, or when the
        customer is gone): every page of the wallet needs both. The customer's row is read with the session, not
        remembered, so that whatever changed it meanwhile (an erasure, a new verification level) shows at once.
        ``beside``: one more value of the session's row (a scalar subquery over ``s.customer_id``, and its
        parameters), such as the navigation's count of unread offers."""
        if not token or len(token) > 200:
            return None
        join = customers.joined("s.customer_id")
        more, params = ("NULL", {}) if beside is None else beside
        with self._db.transaction(write=False) as tx:
            row = tx.fetchone(
                f"SELECT s.customer_id, s.csrf_secret, s.expires_at, {more}, {join.columns} "
                f"FROM web_sessions s{join.joins} WHERE s.id_hash = :hash AND s.expires_at > :now",
                {**params, "hash": _digest(token), "now": epoch_us(self._clock())},
            )
        if row is None:
            return None
        session = WebSession(token, row[0], row[1], from_epoch_us(int(row[2])))
        customer = None if row[0] is None else join.decode(row[4:])
        return FoundSession(session, customer, row[3])

    def sign_in(self, previous: WebSession | None, customer_id: str) -> WebSession:
        """A new session for ``customer_id`` in place of ``previous`` (ended), so that no token outlives sign-in."""
        with self._db.transaction() as tx:
            if previous is not None:
                _delete(tx, previous.token)
            return self._insert(tx, customer_id)

    def end(self, token: str) -> None:
        """End a session (a no-op for an unknown one)."""
        with self._db.transaction() as tx:
            _delete(tx, token)

    def _insert(self, tx: RawTx, customer_id: str | None) -> WebSession:
        now = self._clock()
        session = WebSession(secrets.token_urlsafe(32), customer_id, secrets.token_urlsafe(32), now + self.ttl)
        tx.execute(
            "INSERT INTO web_sessions (id_hash, customer_id, csrf_secret, created_at, expires_at) "
            "VALUES (:hash, :customer, :csrf, :created, :expires)",
            {
                "hash": _digest(session.token),
                "customer": customer_id,
                "csrf": session.csrf_token,
                "created": epoch_us(now),
                "expires": epoch_us(session.expires_at),
            },
        )
        return session


def _delete(tx: RawTx, token: str) -> None:
    tx.execute("DELETE FROM web_sessions WHERE id_hash = :hash", {"hash": _digest(token)})


def _purge_expired(tx: RawTx, now: int) -> None:
    # A bounded batch per new session keeps the table small without a sweep job or a long delete.
    tx.execute(
        "DELETE FROM web_sessions WHERE id_hash IN "
        "(SELECT id_hash FROM web_sessions WHERE expires_at <= :now LIMIT :batch)",
        {"now": now, "batch": _PURGE_BATCH},
    )
