"""A dashboard session as the services hand it out, and the one way a new one is made (``open_session``).

Every step up of a sign-in (the password, the second factor, a new second factor set up, a new password) ends the
session it started from and opens a new one with a new token, so that no token planted or seen before the step
outlives it. The sign-in's steps (``sign_in``), the passkeys' (``passkeys``) and the security page's (``security``)
all open theirs here, through the one opener every kind of back-office person's sessions share
(``kleline.identity.sessions``). A cookie's token is never stored: only its SHA-256 digest (``digest``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

from kleline.db.engine import RawTx
from kleline.identity import sessions as shared
from kleline.identity.sessions import digest
from kleline.merchant_users.errors import SecondFactorRequired, SignInStepMissing
from kleline.merchant_users.model import MerchantUser, may_change_second_factors
from kleline.merchant_users.store import DIRECTORY
from kleline.merchants import Merchant

__all__ = [
    "SECOND_FACTOR_WINDOW",
    "DashboardSession",
    "Stage",
    "check_fresh_second_factor",
    "digest",
    "open_session",
    "signed_in_user",
]

Stage = Literal["anonymous", "second_factor", "signed_in"]
SECOND_FACTOR_WINDOW: Final = timedelta(minutes=10)
"""How long a session waits at the second-factor stage, after the password."""


@dataclass(frozen=True, slots=True)
class DashboardSession:
    """A live dashboard session: ``token`` is the cookie's value (never stored), ``csrf_token`` its forms' hidden
    field; ``user`` is set from the second-factor stage on. A session found from its cookie also carries the
    user's shop as it was read with it (``merchant``, not part of the session's identity): a page checks the shop's
    status against that, never against an older copy."""

    token: str = field(repr=False)
    csrf_token: str = field(repr=False)
    stage: Stage
    user: MerchantUser | None
    second_factor_at: datetime | None
    expires_at: datetime
    merchant: Merchant | None = field(default=None, compare=False)

    @property
    def signed_in(self) -> bool:
        """True once both steps are done (or the only one the user needs)."""
        return self.stage == "signed_in" and self.user is not None


def open_session(
    tx: RawTx,
    user: MerchantUser | None,
    stage: Stage,
    second_factor_at: datetime | None,
    now: datetime,
    ttl: timedelta,
) -> DashboardSession:
    """Record a new session with fresh tokens, valid ``ttl`` from ``now``."""
    made = shared.open_session(tx, DIRECTORY, None if user is None else user.id, stage, second_factor_at, now, ttl)
    return DashboardSession(made.token, made.csrf_token, stage, user, second_factor_at, made.expires_at)


def signed_in_user(session: DashboardSession) -> MerchantUser:
    """The user of a signed-in session; ``SignInStepMissing`` for any other."""
    if not session.signed_in or session.user is None:
        raise SignInStepMissing("sign in first")
    return session.user


def check_fresh_second_factor(session: DashboardSession, now: datetime) -> MerchantUser:
    """The user of a signed-in session that may change its second factors now (``model.may_change_second_factors``);
    ``SecondFactorRequired`` when it must give one again first."""
    user = signed_in_user(session)
    if not may_change_second_factors(user.has_second_factor, session.second_factor_at, now):
        raise SecondFactorRequired("confirm it is you with your second factor first: the last was over 15 minutes ago")
    return user
