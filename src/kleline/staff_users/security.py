"""A staff user's own security, as the console's security page offers it to every role: the authenticator app
(replaced), the password, signing out everywhere, and the last sign-ins.

- **Authenticator app.** Never removed, only *replaced* (a person whose second factor is a passkey may set one up
  beside it, within ``SECOND_FACTOR_FRESH`` of a sign-in): the form that starts a replacement
  asks for a code from the current app (a wrong one counts as at sign-in: a session left open is no way to swap in
  someone else's app); the new secret then waits beside the confirmed one (``kleline.identity.authenticators``, ten
  minutes at most) until a code from the new app is accepted, and only then takes its place.
- **Password.** Changing it asks for the current one, checked as a sign-in is (a wrong one counts toward the
  lockout), and the customers' rules for the new one. Every session of the person ends, wherever its cookie was
  copied to; the browser that changed it gets a new session.
- **Signing out everywhere** ends every session of the person, this one too.
- **Last sign-ins** are the person's ``staff_signed_in`` records of the staff audit trail: when, from where.

Every change is written to the staff audit trail in its own transaction.
"""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import timedelta
from typing import Final

from kleline.clock import Clock, epoch_us
from kleline.db.engine import Database
from kleline.errors import KlelineError
from kleline.identity import lockout, passwords
from kleline.identity import session_store as sessions_sql
from kleline.identity.authenticators import AuthenticatorApps, AuthenticatorState
from kleline.staff import audit
from kleline.staff.audit import AuditFilters, AuditRecord
from kleline.staff_users import store
from kleline.staff_users.errors import ConsoleStepMissing, InvalidStaffUser, SecondFactorStale
from kleline.staff_users.model import second_factor_fresh
from kleline.staff_users.sessions import ConsoleSession, digest, open_session, signed_in_user
from kleline.staff_users.sign_in import SUBJECT, StaffSignIn
from kleline.wallet.customers import WrongPassword, hash_password
from kleline.wallet.sca import Enrolment
from kleline.wallet.strong_auth import AlreadyEnrolled

__all__ = ["SIGN_INS_SHOWN", "StaffSecurity", "password_change_problems"]

SIGN_INS_SHOWN: Final = 10


def password_change_problems(current: str, new: str, again: str) -> list[KlelineError]:
    """Every rule a password change breaks that needs no database, all at once (``kleline.identity.passwords``)."""
    return passwords.password_change_problems(current, new, again, InvalidStaffUser)


class StaffSecurity:
    """A staff user's authenticator app, password, sessions and last sign-ins."""

    def __init__(self, db: Database, sign_in: StaffSignIn, *, clock: Clock, session_ttl: timedelta) -> None:
        self._db = db
        self._apps: AuthenticatorApps = sign_in.apps
        self._lockout_failures = sign_in.lockout_failures
        self._lockout = sign_in.lockout
        self._clock = clock
        self._session_ttl = session_ttl

    # The authenticator app -----------------------------------------------------------------------------------------

    def start_replacement(self, session: ConsoleSession, current_code: str) -> Enrolment:
        """A new authenticator app to replace the person's, once ``current_code`` (from the current app) is
        accepted: its secret and URI to show once. A wrong code is counted as at sign-in; the fifth in a row locks
        the person out and ends its sessions."""
        user = signed_in_user(session)
        now = self._clock()
        enrolment, sealed = self._apps.new_secret(user.email)
        with self._db.transaction() as tx:
            checked = self._apps.check(tx, user.id, current_code, now, now + self._lockout)
            if checked is None:
                raise ConsoleStepMissing("no authenticator is set up for this person")
            if checked.error is None and not self._apps.start(tx, user.id, sealed, now):
                raise ConsoleStepMissing("this person is no longer on the staff")
        if checked.error is not None:
            raise checked.error
        return enrolment

    def start_authenticator(self, session: ConsoleSession) -> Enrolment:
        """A first authenticator app for a person whose second factor is a passkey (``AlreadyEnrolled`` once one is
        confirmed): its secret and URI to show once, confirmed as a replacement is (``confirm_replacement``). The
        session's second factor must be fresh (``SecondFactorStale``)."""
        user = signed_in_user(session)
        now = self._clock()
        if not second_factor_fresh(session.second_factor_at, now):
            raise SecondFactorStale("sign in again to set up an authenticator app: your second factor is not recent")
        enrolment, sealed = self._apps.new_secret(user.email)
        with self._db.transaction() as tx:
            if not self._apps.save_first(tx, user.id, sealed, now):
                raise AlreadyEnrolled("an authenticator is already set up for this person")
        return enrolment

    def confirm_replacement(self, session: ConsoleSession, code: str, address: str | None = None) -> ConsoleSession:
        """Confirm the new app with the code it shows now: it becomes the person's (in place of the old one, if
        any), and counts as the session's second factor, given now."""
        user = signed_in_user(session)
        now = self._clock()
        with self._db.transaction() as tx:
            replaced = self._apps.confirm_new(tx, user.id, code, now)
            if not sessions_sql.set_second_factor_at(tx, store.DIRECTORY, digest(session.token), epoch_us(now)):
                raise ConsoleStepMissing("the session ended meanwhile: sign in again")
            action = "staff_authenticator_replaced" if replaced else "staff_authenticator_set_up"
            audit.record(tx, user.actor(address), action, SUBJECT, user.id, at=now)
        return replace(session, user=replace(user, authenticator=True), second_factor_at=now)

    def authenticator_state(self, user_id: str) -> AuthenticatorState:
        """Where the person's authenticator app stands: ``confirmed``, or ``replacing`` (a new one waiting for its
        first code, still in time); ``none`` or ``pending`` only before its first sign-in."""
        with self._db.transaction(write=False) as tx:
            return self._apps.state(tx, user_id, self._clock())

    # The password and the sessions ---------------------------------------------------------------------------------

    def check_current_password(self, session: ConsoleSession, current: str) -> None:
        """``WrongPassword`` unless ``current`` is the person's password; a wrong one counts toward the lockout, as a
        sign-in does."""
        user = signed_in_user(session)
        with self._db.transaction(write=False) as tx:
            found = store.password_hash(tx, user.id)
        if found is None:
            raise ConsoleStepMissing("this person is no longer on the staff")
        matches = passwords.current_password_matches(
            self._db,
            store.DIRECTORY,
            user.id,
            found,
            current,
            now=self._clock(),
            failures=self._lockout_failures,
            lockout_for=self._lockout,
        )
        if not matches:
            raise WrongPassword(
                "the current password is wrong, or too many failed attempts: try again later", param="current_password"
            )

    def change_password(
        self, session: ConsoleSession, current: str, new: str, again: str, address: str | None = None
    ) -> ConsoleSession:
        """Replace the person's password once ``current`` is checked: every session of the person ends, and the one
        returned (signed in, its second factor as it was) replaces this one."""
        problems = password_change_problems(current, new, again)
        if problems:
            raise problems[0]
        self.check_current_password(session, current)
        user = signed_in_user(session)
        new_hash = hash_password(new)  # slow on purpose: before the transaction, not inside it
        now = self._clock()
        with self._db.transaction() as tx:
            if store.password_hash(tx, user.id) is None:
                raise ConsoleStepMissing("this person is no longer on the staff")
            store.set_password_hash(tx, user.id, new_hash)
            lockout.end_sessions_of(tx, store.DIRECTORY, user.id)
            renewed = open_session(tx, user, "signed_in", session.second_factor_at, now, self._session_ttl)
            audit.record(tx, user.actor(address), "staff_password_changed", SUBJECT, user.id, at=now)
        return renewed

    def sign_out_everywhere(self, session: ConsoleSession, address: str | None = None) -> None:
        """End every session of the person, on every browser, this one included."""
        user = signed_in_user(session)
        with self._db.transaction() as tx:
            lockout.end_sessions_of(tx, store.DIRECTORY, user.id)
            audit.record(tx, user.actor(address), "staff_signed_out_everywhere", SUBJECT, user.id, at=self._clock())

    def sign_ins(self, user_id: str, limit: int = SIGN_INS_SHOWN) -> builtins.list[AuditRecord]:
        """The person's last sign-ins, newest first, as the staff audit trail recorded them (when, from where)."""
        filters = AuditFilters(actor_kind="staff", actor_id=user_id, action="staff_signed_in")
        return audit.search(self._db, filters, limit=min(max(limit, 1), 50)).records
