"""Signing in to a merchant's dashboard: the password, then the second factor, in a session of the dashboard's own.

The password is checked exactly as a customer's is (``kleline.wallet.customers.Customers.check_password``): the
same argon2 parameters, the same lockout (``lockout_failures`` wrong passwords in a row lock sign-in for
``lockout``) taken by one conditional UPDATE before the password is even checked, and the same work and the same
sentence (``REFUSED_SIGN_IN``) for a malformed or unknown address, a wrong password and a locked user. The rate
limit per client is the interfaces' (``kleline.ratelimit``, scope ``sign_in``), as for customers.

A session (``DashboardSession``) moves through three stages, and a new token is minted at each step up, so that no
token planted or seen before a step outlives it:

    anonymous ──password──▶ second_factor ──code, or a new authenticator confirmed──▶ signed_in
        └──────password (a user who needs no second factor: not an owner, none set up)─────▶ signed_in

The second-factor stage lasts ``SECOND_FACTOR_WINDOW`` at most. What it asks (``next_step``) follows
``model.step_after_password``: to verify a second factor the user has (a code from a confirmed authenticator here;
a passkey in ``passkeys.MerchantPasskeys``), or, for an owner without any, setting one up (an authenticator, its
secret shown once, sealed at rest as the customers' are, under a purpose of its own; or a passkey). Wrong codes
count on the user's guard; the fifth in a row locks the user's sign-in for the lockout period and ends its sessions
(``second_factor``). A signed-in session remembers when its second factor was last given: ``needs_second_factor_again``
tells a sensitive page to ask for it again (``confirm_again``) once it is older than 15 minutes.

Every step that signs a person in or out, or sets up an authenticator, is written to the merchant's audit trail; a
sign-in's record says how (``detail.method``: ``password`` alone, ``authenticator`` or ``passkey``), for the security
page's list of the user's last sign-ins.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import cast

from kleline.clock import Clock, epoch_us
from kleline.db.engine import Database, RawTx
from kleline.errors import KlelineError
from kleline.identity import passwords
from kleline.identity.authenticators import AuthenticatorApps
from kleline.merchant_users import audit, session_store, store
from kleline.merchant_users.errors import SignInStepMissing
from kleline.merchant_users.model import MerchantUser, SignInStep, needs_second_factor_again, step_after_password
from kleline.merchant_users.second_factor import PURPOSE
from kleline.merchant_users.sessions import SECOND_FACTOR_WINDOW, DashboardSession, Stage, digest, open_session
from kleline.wallet.customers import InvalidCustomer, normalise_email
from kleline.wallet.sca import Enrolment
from kleline.wallet.strong_auth import AlreadyEnrolled
from kleline.wallet.vault import MasterKeys

__all__ = ["SECOND_FACTOR_WINDOW", "DashboardSession", "MerchantSignIn", "Stage"]


class MerchantSignIn:
    """The dashboard's sessions, its two sign-in steps, and its authenticators."""

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
        self.session_ttl = session_ttl
        self._lockout_failures = lockout_failures
        self._lockout = lockout

    # Sessions ------------------------------------------------------------------------------------------------------

    def start(self) -> DashboardSession:
        """A new anonymous session (its form token lets the visitor sign in); expired sessions are purged."""
        with self._db.transaction() as tx:
            session_store.purge_expired(tx, epoch_us(self._clock()))
            return self._insert(tx, None, "anonymous", None)

    def find(self, token: str) -> DashboardSession | None:
        """The live session behind a cookie's token, with its user and the user's shop, or None (unknown, ended,
        expired, or its user removed since)."""
        if not token or len(token) > 200:
            return None
        with self._db.transaction(write=False) as tx:
            found = session_store.find_session(tx, digest(token), epoch_us(self._clock()))
        if found is None or (found.stage != "anonymous" and found.user is None):
            return None
        stage = cast(Stage, found.stage)
        return DashboardSession(
            token, found.csrf_secret, stage, found.user, found.second_factor_at, found.expires_at, found.merchant
        )

    def sign_out(self, session: DashboardSession, address: str | None = None) -> None:
        """End the session (recorded when someone was signed in)."""
        with self._db.transaction() as tx:
            ended = session_store.delete_session(tx, digest(session.token))
            if ended and session.user is not None and session.stage == "signed_in":
                user = session.user
                audit.record(tx, user.merchant_id, user.id, "signed_out", self._now_us(), address=address)

    def needs_second_factor_again(self, session: DashboardSession) -> bool:
        """Whether a sensitive act in this session must ask for the second factor again (none given in it, or the
        last one more than 15 minutes ago)."""
        return needs_second_factor_again(session.second_factor_at, self._clock())

    # The first step: the password ----------------------------------------------------------------------------------

    def check_password(
        self, previous: DashboardSession | None, email: str, password: str, address: str | None = None
    ) -> DashboardSession:
        """A new session in place of ``previous`` once the password is right: at the second-factor stage, or
        signed in when the user needs none. ``AuthenticationFailed`` (one sentence, the same work) otherwise."""
        now = self._clock()
        try:
            email = normalise_email(email.strip())
        except InvalidCustomer:
            email = ""
        with self._db.transaction(write=False) as tx:
            found = store.find_user_by_email(tx, email) if email else None
        passwords.check_password(
            self._db,
            store.DIRECTORY,
            (found[0].id, found[1]) if found is not None else None,
            password,
            now=now,
            failures=self._lockout_failures,
            lockout_for=self._lockout,
        )
        assert found is not None  # check_password refuses an address that is nobody's
        user = found[0]
        with self._db.transaction() as tx:
            store.reset_failed_sign_ins(tx, user.id)
            if previous is not None:
                session_store.delete_session(tx, digest(previous.token))
            return self._past_password(tx, user, now, address)

    def _past_password(self, tx: RawTx, user: MerchantUser, now: datetime, address: str | None) -> DashboardSession:
        """The session of ``user`` once its password is known right: signed in when it needs no second factor (and
        recorded as a sign-in), else at the second-factor stage."""
        if step_after_password(user.role, user.has_second_factor) == "done":
            detail = {"method": "password"}
            audit.record(tx, user.merchant_id, user.id, "signed_in", epoch_us(now), detail=detail, address=address)
            return self._insert(tx, user, "signed_in", None)
        return self._insert(tx, user, "second_factor", None, ttl=SECOND_FACTOR_WINDOW)

    def open_for_new_owner(self, tx: RawTx, user: MerchantUser, previous: DashboardSession | None) -> DashboardSession:
        """The session of an owner who has just joined, in place of ``previous``, at the second-factor stage (it
        must set up an authenticator), written in ``tx``: the transaction that made the user with the password it
        just chose, which counts as its first step. For ``MerchantJoining`` only: no other caller has just made a
        user from a password it was given."""
        if previous is not None:
            session_store.delete_session(tx, digest(previous.token))
        return self._insert(tx, user, "second_factor", None, ttl=SECOND_FACTOR_WINDOW)

    def open_for_invited(
        self, user: MerchantUser, previous: DashboardSession | None, address: str | None = None
    ) -> DashboardSession:
        """The first session of a person who has just accepted an invitation (``MerchantUsers.accept``), in place of
        ``previous``: the password it chose there counts as its first step, so it is signed in when its role needs
        no second factor, else (an owner) at the second-factor stage, to set one up. For the invitation's page only:
        no other caller has just made a user from a password it was given; a user made longer ago than a sign-in's
        first step lasts signs in with its password (``SignInStepMissing``)."""
        if self._clock() - user.created_at > SECOND_FACTOR_WINDOW:
            raise SignInStepMissing("sign in with your email and password")
        with self._db.transaction() as tx:
            if previous is not None:
                session_store.delete_session(tx, digest(previous.token))
            return self._past_password(tx, user, self._clock(), address)

    def next_step(self, session: DashboardSession) -> SignInStep:
        """What the session still needs: a second factor verified (a code or a passkey), a new one set up (an owner
        without any), or nothing."""
        if session.stage == "signed_in":
            return "done"
        if session.user is None:
            raise SignInStepMissing("sign in with your email and password first")
        step = step_after_password(session.user.role, session.user.has_second_factor)
        return "verify" if step == "done" else step  # a second-factor stage always asks for something

    # The second step: the code -------------------------------------------------------------------------------------

    def pass_second_factor(self, session: DashboardSession, code: str, address: str | None = None) -> DashboardSession:
        """Sign the session in with a code from the user's authenticator: a new, signed-in session in its place. A
        wrong code is counted (committed) and refused; the fifth in a row locks the user out and ends the session."""
        user = self._awaiting(session, "verify")
        now = self._clock()
        with self._db.transaction() as tx:
            outcome = self._check(tx, user, code, now)
            if outcome is None:
                if not session_store.delete_session(tx, digest(session.token)):
                    raise SignInStepMissing("the session ended meanwhile: sign in again")
                detail = {"method": "authenticator"}
                audit.record(tx, user.merchant_id, user.id, "signed_in", epoch_us(now), detail=detail, address=address)
                signed_in = self._insert(tx, user, "signed_in", now)
        if outcome is not None:
            raise outcome
        return signed_in

    def confirm_again(self, session: DashboardSession, code: str, address: str | None = None) -> DashboardSession:
        """Give the second factor again in a signed-in session (before a sensitive act): the session then counts
        it as given now."""
        if not session.signed_in or session.user is None or not session.user.authenticator:
            raise SignInStepMissing("this session has no authenticator to confirm with")
        user = session.user
        now = self._clock()
        with self._db.transaction() as tx:
            outcome = self._check(tx, user, code, now)
            if outcome is None:
                if not session_store.set_second_factor_at(tx, digest(session.token), epoch_us(now)):
                    raise SignInStepMissing("the session ended meanwhile: sign in again")
                audit.record(
                    tx, user.merchant_id, user.id, "second_factor_confirmed", epoch_us(now),
                    detail={"method": "authenticator"}, address=address,
                )  # fmt: skip
        if outcome is not None:
            raise outcome
        return replace(session, second_factor_at=now)

    def _check(self, tx: RawTx, user: MerchantUser, code: str, now: datetime) -> KlelineError | None:
        """Check ``code`` under the user's row lock and store the guard; the refusal to raise after the commit."""
        checked = self._apps.check(tx, user.id, code, now, now + self._lockout)
        if checked is None:
            return SignInStepMissing("no authenticator is set up for this user")
        return checked.error

    # Setting up an authenticator -----------------------------------------------------------------------------------

    def enrol(self, session: DashboardSession) -> Enrolment:
        """A new authenticator for the session's user (an owner signing in without one, or a signed-in user who
        has none): its secret and URI are shown once, the secret stored sealed."""
        if session.stage == "signed_in" and session.user is not None:
            user = session.user
        else:
            user = self._awaiting(session, "enrol")
        return self.set_up_authenticator(user.id, user.email)

    def set_up_authenticator(self, user_id: str, account_name: str) -> Enrolment:
        """A new TOTP secret for the user, replacing one no code confirmed yet; ``AlreadyEnrolled`` if confirmed."""
        enrolment, sealed = self._apps.new_secret(account_name)
        with self._db.transaction() as tx:
            if not self._apps.save_first(tx, user_id, sealed, self._clock()):
                raise AlreadyEnrolled("an authenticator is already set up for this user")
        return enrolment

    def confirm_enrolment(self, session: DashboardSession, code: str, address: str | None = None) -> DashboardSession:
        """Confirm the new authenticator with the code it shows now; a session at the second-factor stage is then
        signed in (a new session in its place), a signed-in one counts the code as its second factor."""
        user = session.user
        if user is None or (session.stage != "signed_in" and self.next_step(session) != "enrol"):
            raise SignInStepMissing("sign in with your email and password first")
        now = self._clock()
        with self._db.transaction() as tx:
            self._confirm(tx, user.id, code, now)
            at = epoch_us(now)
            audit.record(tx, user.merchant_id, user.id, "authenticator_set_up", at, address=address)
            if not session_store.delete_session(tx, digest(session.token)):
                raise SignInStepMissing("the session ended meanwhile: sign in again")
            if session.stage != "signed_in":
                detail = {"method": "authenticator"}
                audit.record(tx, user.merchant_id, user.id, "signed_in", at, detail=detail, address=address)
            return self._insert(tx, replace(user, authenticator=True), "signed_in", now)

    def confirm_authenticator(self, user_id: str, code: str) -> None:
        """Confirm a user's new authenticator with a code, outside any session (the demo, an operator's tools)."""
        with self._db.transaction() as tx:
            self._confirm(tx, user_id, code, self._clock())

    def _confirm(self, tx: RawTx, user_id: str, code: str, now: datetime) -> None:
        self._apps.confirm_first(tx, user_id, code, now)

    def rotate_keys(self, batch: int = 100) -> int:
        """Re-wrap every sealed secret (and every replacement being set up) under the active master key, in batches
        (resumable); how many moved."""
        return self._apps.rotate_keys(self._db, batch)

    # Helpers -------------------------------------------------------------------------------------------------------

    def _awaiting(self, session: DashboardSession, step: SignInStep) -> MerchantUser:
        if session.stage != "second_factor" or session.user is None or self.next_step(session) != step:
            raise SignInStepMissing("sign in with your email and password first")
        return session.user

    def _now_us(self) -> int:
        return epoch_us(self._clock())

    def _insert(
        self,
        tx: RawTx,
        user: MerchantUser | None,
        stage: Stage,
        second_factor_at: datetime | None,
        *,
        ttl: timedelta | None = None,
    ) -> DashboardSession:
        lasts = min(ttl or self.session_ttl, self.session_ttl)
        return open_session(tx, user, stage, second_factor_at, self._clock(), lasts)
