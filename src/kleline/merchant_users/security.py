"""A merchant user's own security, as its security page offers it to every role: the authenticator app (set up,
replaced, removed), the password, signing out everywhere, and the last sign-ins.

- **Authenticator app.** A user without a confirmed app sets one up as at sign-in (a secret shown once, sealed at
  rest, confirmed by a first code). A user with one *replaces* it: the new secret waits beside the confirmed one
  (``totp_next_*``, ten minutes at most) until a code from the new app is accepted, and only then takes its place,
  so that a replacement left half-way locks nobody out and lets nobody in. Removing the app is refused to an owner
  without a passkey (``LastSecondFactor``: an owner keeps a second factor).
- **Fresh second factor.** Setting up, replacing or removing a second factor (and adding or removing a passkey, in
  ``passkeys``) asks for a second factor given less than 15 minutes ago, unless the user has none yet
  (``model.may_change_second_factors``; ``SecondFactorRequired`` otherwise).
- **Password.** Changing it asks for the current one, checked as a sign-in is (a wrong one counts toward the
  lockout: a session left open must not become a way to guess it), and the customers' rules for the new one. Every
  session of the user ends, wherever its cookie was copied to; the browser that changed it gets a new session.
- **Signing out everywhere** ends every session of the user, this one too.
- **Last sign-ins** are the user's ``signed_in`` records of the merchant's audit trail: when, from which address,
  and how (the password alone, an authenticator app's code, or a passkey).

Every change is written to the merchant's audit trail in its own transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Final

from kleline.clock import Clock, epoch_us
from kleline.db.engine import Database
from kleline.errors import KlelineError
from kleline.identity import authenticator_store, passwords
from kleline.identity.authenticators import REPLACEMENT_WINDOW, AuthenticatorApps, AuthenticatorState
from kleline.identity.passkey_store import count_passkeys
from kleline.merchant_users import audit, security_store, session_store, store
from kleline.merchant_users.errors import InvalidMerchantUser, LastSecondFactor, NoAuthenticator, SignInStepMissing
from kleline.merchant_users.model import AuditRecord, may_change_second_factors, second_factor_removal_refusal
from kleline.merchant_users.second_factor import PURPOSE
from kleline.merchant_users.sessions import DashboardSession, check_fresh_second_factor, digest, open_session
from kleline.wallet.customers import WrongPassword, hash_password
from kleline.wallet.sca import Enrolment
from kleline.wallet.vault import MasterKeys

__all__ = [
    "REPLACEMENT_WINDOW",
    "SIGN_INS_SHOWN",
    "AuthenticatorState",
    "MerchantSecurity",
    "password_change_problems",
]

SIGN_INS_SHOWN: Final = 10


def password_change_problems(current: str, new: str, again: str) -> list[KlelineError]:
    """Every rule a password change breaks that needs no database, all at once (``kleline.identity.passwords``)."""
    return passwords.password_change_problems(current, new, again, InvalidMerchantUser)


class MerchantSecurity:
    """A merchant user's authenticator app, password, sessions and last sign-ins."""

    def __init__(
        self,
        db: Database,
        master_keys: MasterKeys,
        *,
        clock: Clock,
        session_ttl: timedelta,
        lockout_failures: int = 10,
        lockout: timedelta = timedelta(minutes=30),
    ) -> None:
        self._db = db
        self._apps = AuthenticatorApps(store.DIRECTORY, master_keys, PURPOSE)
        self._clock = clock
        self._session_ttl = session_ttl
        self._lockout_failures = lockout_failures
        self._lockout = lockout

    # The authenticator app ---------------------------------------------------------------------------------------

    def start_authenticator(self, session: DashboardSession) -> Enrolment:
        """A new authenticator app for the session's user, its secret and URI to show once: the user's first, or
        one to replace the confirmed app once a code from it is accepted (``confirm_authenticator``)."""
        user = check_fresh_second_factor(session, self._clock())
        enrolment, sealed = self._apps.new_secret(user.email)
        with self._db.transaction() as tx:
            if not self._apps.start(tx, user.id, sealed, self._clock()):  # the user's row, locked
                raise SignInStepMissing("this user no longer belongs to the merchant")
        return enrolment

    def confirm_authenticator(
        self, session: DashboardSession, code: str, address: str | None = None
    ) -> DashboardSession:
        """Confirm the app ``start_authenticator`` made with the code it shows now: it becomes the user's (in place
        of the old one, if any), and counts as the session's second factor, given now."""
        user = session.user
        if not session.signed_in or user is None:
            raise SignInStepMissing("sign in first")
        now = self._clock()
        with self._db.transaction() as tx:
            replaced = self._apps.confirm_new(tx, user.id, code, now)
            at = epoch_us(now)
            action = "authenticator_replaced" if replaced else "authenticator_set_up"
            audit.record(tx, user.merchant_id, user.id, action, at, address=address)
            if not session_store.set_second_factor_at(tx, digest(session.token), at):
                raise SignInStepMissing("the session ended meanwhile: sign in again")
        return replace(session, user=replace(user, authenticator=True), second_factor_at=now)

    def remove_authenticator(self, session: DashboardSession, address: str | None = None) -> None:
        """Remove the user's authenticator app (and any replacement being set up); an owner without a passkey keeps
        it (``LastSecondFactor``)."""
        user = check_fresh_second_factor(session, self._clock())
        with self._db.transaction() as tx:
            found = store.find_authenticator(tx, user.id)  # the user's row, locked
            current = store.find_user(tx, user.id, user.merchant_id)
            if found is None or current is None:
                raise SignInStepMissing("this user no longer belongs to the merchant")
            if not found.confirmed:
                raise NoAuthenticator("no authenticator app is set up for this user")
            refusal = second_factor_removal_refusal(current.role, count_passkeys(tx, store.DIRECTORY, user.id))
            if refusal is not None:
                raise LastSecondFactor(refusal)
            authenticator_store.clear_authenticator(tx, store.DIRECTORY, user.id)
            audit.record(
                tx, user.merchant_id, user.id, "authenticator_removed", epoch_us(self._clock()), address=address
            )

    def authenticator_state(self, user_id: str) -> AuthenticatorState:
        """Where the user's authenticator app stands: ``none``; ``pending`` (set up, no code accepted yet);
        ``confirmed``; or ``replacing`` (confirmed, and a new one waiting for its first code, still in time)."""
        with self._db.transaction(write=False) as tx:
            return self._apps.state(tx, user_id, self._clock())

    def may_change_second_factors(self, session: DashboardSession) -> bool:
        """Whether this session may add, replace or remove a second factor now (``SecondFactorRequired`` otherwise):
        its user has none yet, or gave one less than 15 minutes ago."""
        user = session.user
        return user is not None and may_change_second_factors(
            user.has_second_factor, session.second_factor_at, self._clock()
        )

    # The password and the sessions ------------------------------------------------------------------------------

    def check_current_password(self, session: DashboardSession, current: str) -> None:
        """``WrongPassword`` unless ``current`` is the user's password; a wrong one counts toward the lockout, as a
        sign-in does."""
        user = session.user
        if not session.signed_in or user is None:
            raise SignInStepMissing("sign in first")
        now = self._clock()
        with self._db.transaction(write=False) as tx:
            found = security_store.password_hash(tx, user.id)
        if found is None:
            raise SignInStepMissing("this user no longer belongs to the merchant")
        matches = passwords.current_password_matches(
            self._db,
            store.DIRECTORY,
            user.id,
            found,
            current,
            now=now,
            failures=self._lockout_failures,
            lockout_for=self._lockout,
        )
        if not matches:
            raise WrongPassword(
                "the current password is wrong, or too many failed attempts: try again later", param="current_password"
            )

    def change_password(
        self, session: DashboardSession, current: str, new: str, again: str, address: str | None = None
    ) -> DashboardSession:
        """Replace the user's password once ``current`` is checked: every session of the user ends, and the one
        returned (signed in, its second factor as it was) replaces this one."""
        problems = password_change_problems(current, new, again)
        if problems:
            raise problems[0]
        self.check_current_password(session, current)
        user = session.user
        assert user is not None
        new_hash = hash_password(new)  # slow on purpose: before the transaction, not inside it
        now = self._clock()
        with self._db.transaction() as tx:
            if store.find_user(tx, user.id, user.merchant_id) is None:
                raise SignInStepMissing("this user no longer belongs to the merchant")
            security_store.set_password_hash(tx, user.id, new_hash)
            store.end_sessions_of(tx, user.id)
            audit.record(tx, user.merchant_id, user.id, "password_changed", epoch_us(now), address=address)
            return open_session(tx, user, "signed_in", session.second_factor_at, now, self._session_ttl)

    def sign_out_everywhere(self, session: DashboardSession, address: str | None = None) -> None:
        """End every session of the user, on every browser, this one included."""
        user = session.user
        if not session.signed_in or user is None:
            raise SignInStepMissing("sign in first")
        with self._db.transaction() as tx:
            store.end_sessions_of(tx, user.id)
            audit.record(
                tx, user.merchant_id, user.id, "signed_out_everywhere", epoch_us(self._clock()), address=address
            )

    def sign_ins(self, user_id: str, limit: int = SIGN_INS_SHOWN) -> list[AuditRecord]:
        """The user's last sign-ins, newest first: when, from which address, how (``detail["method"]``)."""
        with self._db.transaction(write=False) as tx:
            return security_store.sign_ins_of(tx, user_id, min(max(limit, 1), 50))
