"""Signing in to the operator console: the password, then the authenticator app's code, always, in a session of
the console's own.

The password is checked as every back-office person's is (``kleline.identity.passwords``: the customers' argon2
hashes, ``lockout_failures`` wrong passwords in a row locking sign-in for ``lockout``, one sentence and the same work
for an unknown or malformed address, a wrong password and a locked person). The rate limit per client is the
interfaces' (``kleline.ratelimit``, scope ``sign_in``).

A session (``ConsoleSession``) moves through three stages, a new token minted at each step up::

    anonymous ──password──▶ second_factor ──a code, or a new authenticator confirmed──▶ signed_in

The second factor is mandatory for staff: a person with one gives it (``verify``: a code here, or a passkey in
``kleline.staff_users.passkeys``); one with neither (just invited, or who left the set-up half-way) sets one up
before anything else (``enrol``): an authenticator app here, its secret shown once and sealed at rest under a purpose
of its own, or a passkey. The second-factor stage lasts ``SECOND_FACTOR_WINDOW`` at most. Wrong codes count on the
person's guard; the fifth in a row locks its sign-in for the lockout period and ends its sessions.

Every step that signs a person in or out, or sets up an authenticator, is written to the staff audit trail
(``kleline.staff.audit``) in its own transaction, under the person as actor; a sign-in's record says how
(``after.method``), for the security page's list of last sign-ins. Refused sign-ins are not recorded: recording
only the known addresses' would cost them a write the unknown ones do not make (the answer must take the same time);
the lockout counts them instead.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final, cast

from kleline.clock import Clock, epoch_us
from kleline.db.engine import Database, RawTx
from kleline.identity import lockout, passwords
from kleline.identity import session_store as sessions_sql
from kleline.identity.authenticators import AuthenticatorApps
from kleline.staff import audit
from kleline.staff.actor import StaffActor
from kleline.staff_users import store
from kleline.staff_users.errors import ConsoleStepMissing, UnknownStaffUser
from kleline.staff_users.model import SignInStep, StaffUser, step_after_password
from kleline.staff_users.sessions import SECOND_FACTOR_WINDOW, ConsoleSession, Stage, digest, open_session
from kleline.wallet.customers import InvalidCustomer, normalise_email
from kleline.wallet.sca import Enrolment
from kleline.wallet.strong_auth import AlreadyEnrolled
from kleline.wallet.vault import MasterKeys

__all__ = ["PURPOSE", "SUBJECT", "StaffSignIn"]

PURPOSE: Final = b"kleline-staff-user-totp-v1"
"""The associated data of a sealed staff user's secret: it can never be opened as a merchant user's, a customer's
or a card."""
SUBJECT: Final = "staff_user"
"""The audit trail's subject type of the acts on a staff user."""


class StaffSignIn:
    """The console's sessions, its two sign-in steps, and its people's first authenticator."""

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
        self.apps = AuthenticatorApps(store.DIRECTORY, master_keys, PURPOSE)
        self._clock = clock
        self.session_ttl = session_ttl
        self.lockout_failures = lockout_failures
        self.lockout = lockout

    # Sessions ------------------------------------------------------------------------------------------------------

    def start(self) -> ConsoleSession:
        """A new anonymous session (its form token lets the visitor sign in); expired sessions are purged."""
        with self._db.transaction() as tx:
            sessions_sql.purge_expired(tx, store.DIRECTORY, epoch_us(self._clock()))
            return open_session(tx, None, "anonymous", None, self._clock(), self.session_ttl)

    def find(self, token: str) -> ConsoleSession | None:
        """The live session behind a cookie's token, with its person as it is now (its role changed meanwhile
        counts at once), or None: unknown, ended, expired, or its person disabled since."""
        if not token or len(token) > 200:
            return None
        with self._db.transaction(write=False) as tx:
            found = sessions_sql.find_session(
                tx, store.DIRECTORY, digest(token), epoch_us(self._clock()), store.USER_COLUMNS
            )
        if found is None:
            return None
        user = None if found.user_row is None else store.user_from_row(found.user_row)
        if found.stage != "anonymous" and user is None:
            return None
        stage = cast(Stage, found.stage)
        return ConsoleSession(token, found.csrf_secret, stage, user, found.second_factor_at, found.expires_at)

    def sign_out(self, session: ConsoleSession, address: str | None = None) -> None:
        """End the session (recorded when someone was signed in)."""
        with self._db.transaction() as tx:
            ended = sessions_sql.delete_session(tx, store.DIRECTORY, digest(session.token))
            if ended and session.signed_in and session.user is not None:
                user = session.user
                audit.record(tx, user.actor(address), "staff_signed_out", SUBJECT, user.id, at=self._clock())

    # The first step: the password ----------------------------------------------------------------------------------

    def check_password(
        self, previous: ConsoleSession | None, email: str, password: str, address: str | None = None
    ) -> ConsoleSession:
        """A new session in place of ``previous`` once the password is right, at the second-factor stage (a code,
        or an authenticator to set up). ``AuthenticationFailed`` (one sentence, the same work) otherwise."""
        now = self._clock()
        try:
            email = normalise_email(email.strip())
        except InvalidCustomer:
            email = ""
        with self._db.transaction(write=False) as tx:
            found = store.find_active_by_email(tx, email) if email else None
        passwords.check_password(
            self._db,
            store.DIRECTORY,
            (found[0].id, found[1]) if found is not None else None,
            password,
            now=now,
            failures=self.lockout_failures,
            lockout_for=self.lockout,
        )
        assert found is not None  # check_password refuses an address that is nobody's
        user = found[0]
        with self._db.transaction() as tx:
            lockout.reset_failed_sign_ins(tx, store.DIRECTORY, user.id)
            if previous is not None:
                sessions_sql.delete_session(tx, store.DIRECTORY, digest(previous.token))
            return self._insert(tx, user, "second_factor", None, ttl=SECOND_FACTOR_WINDOW)

    def next_step(self, session: ConsoleSession) -> SignInStep:
        """What the session still needs: a code from the authenticator app, a new app set up, or nothing."""
        if session.signed_in:
            return "done"
        if session.user is None:
            raise ConsoleStepMissing("sign in with your email and password first")
        return step_after_password(session.user.has_second_factor)

    # The second step: a code ---------------------------------------------------------------------------------------

    def pass_second_factor(self, session: ConsoleSession, code: str, address: str | None = None) -> ConsoleSession:
        """Sign the session in with a code from the person's authenticator: a new, signed-in session in its place. A
        wrong code is counted (committed) and refused; the fifth in a row locks the person out and ends the
        session."""
        user = self._awaiting(session, "verify")
        now = self._clock()
        with self._db.transaction() as tx:
            checked = self.apps.check(tx, user.id, code, now, now + self.lockout)
            if checked is None:
                raise ConsoleStepMissing("no authenticator is set up for this person")
            if checked.error is None:
                if not sessions_sql.delete_session(tx, store.DIRECTORY, digest(session.token)):
                    raise ConsoleStepMissing("the session ended meanwhile: sign in again")
                signed_in = self._insert(tx, user, "signed_in", now)
                self._signed_in(tx, user, address, now)
        if checked.error is not None:
            raise checked.error
        return signed_in

    # The second step: a first authenticator ------------------------------------------------------------------------

    def enrol(self, session: ConsoleSession) -> Enrolment:
        """A new authenticator for the person of a session at the set-up step: its secret and URI are shown once,
        the secret stored sealed (in place of one never confirmed)."""
        user = self._awaiting(session, "enrol")
        return self.set_up_authenticator(user.id, user.email)

    def confirm_enrolment(self, session: ConsoleSession, code: str, address: str | None = None) -> ConsoleSession:
        """Confirm the new authenticator with the code it shows now: the session is signed in (a new session in its
        place), and both acts are recorded."""
        user = self._awaiting(session, "enrol")
        now = self._clock()
        with self._db.transaction() as tx:
            self.apps.confirm_first(tx, user.id, code, now)
            if not sessions_sql.delete_session(tx, store.DIRECTORY, digest(session.token)):
                raise ConsoleStepMissing("the session ended meanwhile: sign in again")
            signed_in = self._insert(tx, replace(user, authenticator=True), "signed_in", now)
            actor = user.actor(address)
            audit.record(tx, actor, "staff_authenticator_set_up", SUBJECT, user.id, at=now)
            self._signed_in(tx, user, address, now)
        return signed_in

    def set_up_authenticator(self, user_id: str, account_name: str) -> Enrolment:
        """A new TOTP secret for the person, replacing one no code confirmed yet; ``AlreadyEnrolled`` if confirmed."""
        enrolment, sealed = self.apps.new_secret(account_name)
        with self._db.transaction() as tx:
            if not self.apps.save_first(tx, user_id, sealed, self._clock()):
                raise AlreadyEnrolled("an authenticator is already set up for this person")
        return enrolment

    def confirm_authenticator(self, user_id: str, code: str, *, by: StaffActor) -> None:
        """Confirm a person's first authenticator with a code, outside any session (the demo, at the command line
        ``by``), recorded under ``by``."""
        now = self._clock()
        with self._db.transaction() as tx:
            if store.find_user(tx, user_id) is None:
                raise UnknownStaffUser(f"no staff user {user_id}")
            self.apps.confirm_first(tx, user_id, code, now)
            audit.record(tx, by, "staff_authenticator_set_up", SUBJECT, user_id, at=now)

    def rotate_keys(self, batch: int = 100) -> int:
        """Re-wrap every sealed secret (and every replacement being set up) under the active master key, in batches
        (resumable); how many moved."""
        return self.apps.rotate_keys(self._db, batch)

    # Helpers -------------------------------------------------------------------------------------------------------

    def _awaiting(self, session: ConsoleSession, step: SignInStep) -> StaffUser:
        if session.stage != "second_factor" or session.user is None or self.next_step(session) != step:
            raise ConsoleStepMissing("sign in with your email and password first")
        return session.user

    @staticmethod
    def _signed_in(tx: RawTx, user: StaffUser, address: str | None, now: datetime) -> None:
        after = {"method": "authenticator"}
        audit.record(tx, user.actor(address), "staff_signed_in", SUBJECT, user.id, at=now, after=after)

    def _insert(
        self, tx: RawTx, user: StaffUser | None, stage: Stage, second_factor_at: datetime | None,
        *, ttl: timedelta | None = None,
    ) -> ConsoleSession:  # fmt: skip
        lasts = min(ttl or self.session_ttl, self.session_ttl)
        return open_session(tx, user, stage, second_factor_at, self._clock(), lasts)
