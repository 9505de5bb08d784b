"""A console session as the services hand it out, and the one way a new one is made (``open_session``).

The console's sessions are kept in a table of their own (``staff_sessions``) and named by a cookie of their own, so
that a console session is never mistaken for a dashboard or a wallet session. Every step up of a sign-in (the
password, the second factor, a new authenticator set up, a new password) ends the session it started from and opens a
new one with a new token (``kleline.identity.sessions``), so that no token planted or seen before the step outlives
it. A cookie's token is never stored: only its SHA-256 digest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

from kleline.db.engine import RawTx
from kleline.identity import sessions as shared
from kleline.identity.sessions import digest
from kleline.staff_users.errors import ConsoleStepMissing
from kleline.staff_users.model import StaffUser
from kleline.staff_users.store import DIRECTORY

__all__ = ["SECOND_FACTOR_WINDOW", "ConsoleSession", "Stage", "digest", "open_session", "signed_in_user"]

Stage = Literal["anonymous", "second_factor", "signed_in"]
SECOND_FACTOR_WINDOW: Final = timedelta(minutes=10)
"""How long a session waits at the second-factor stage, after the password."""


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A live console session: ``token`` is the cookie's value (never stored), ``csrf_token`` its forms' hidden
    field; ``user`` is set from the second-factor stage on."""

    token: str = field(repr=False)
    csrf_token: str = field(repr=False)
    stage: Stage
    user: StaffUser | None
    second_factor_at: datetime | None
    expires_at: datetime

    @property
    def signed_in(self) -> bool:
        """True once both steps are done."""
        return self.stage == "signed_in" and self.user is not None


def open_session(
    tx: RawTx,
    user: StaffUser | None,
    stage: Stage,
    second_factor_at: datetime | None,
    now: datetime,
    ttl: timedelta,
) -> ConsoleSession:
    """Record a new session with fresh tokens, valid ``ttl`` from ``now``."""
    made = shared.open_session(tx, DIRECTORY, None if user is None else user.id, stage, second_factor_at, now, ttl)
    return ConsoleSession(made.token, made.csrf_token, stage, user, second_factor_at, made.expires_at)


def signed_in_user(session: ConsoleSession) -> StaffUser:
    """The staff user of a signed-in session; ``ConsoleStepMissing`` for any other."""
    if not session.signed_in or session.user is None:
        raise ConsoleStepMissing("sign in first")
    return session.user
