"""A staff user's passkeys: register, list and remove them, and give one as the sign-in's second step.

The ceremonies and the credentials are every back-office person's (``kleline.identity.passkeys``, on the staff
users' tables ``staff_passkeys`` and ``staff_passkey_ceremonies``): what is the console's own is who may register or
remove one, the console's sessions, and the staff audit trail.

- A passkey counts as the mandatory second factor: a new staff member, at the sign-in's second step without any
  second factor, may register a passkey instead of setting up an authenticator app; the session is then signed in.
- In a signed-in session, adding or removing a passkey wants a second factor given less than
  ``SECOND_FACTOR_FRESH`` ago (``SecondFactorStale`` otherwise: sign in again), and a person's last second factor
  stays (``LastSecondFactor``).
- Each act is written to the staff audit trail under the person as actor, in the act's own transaction:
  ``staff_passkey_added``, ``staff_passkey_removed`` (the passkey's name) and ``staff_signed_in`` (``method``:
  ``passkey``).
"""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import datetime, timedelta

from kleline.clock import Clock
from kleline.db.engine import Database, RawTx
from kleline.identity import authenticator_store
from kleline.identity import session_store as sessions_sql
from kleline.identity.passkey_model import Passkey
from kleline.identity.passkeys import Passkeys
from kleline.staff import audit
from kleline.staff_users import store
from kleline.staff_users.errors import ConsoleStepMissing, LastSecondFactor, SecondFactorStale
from kleline.staff_users.model import StaffUser, second_factor_fresh, step_after_password
from kleline.staff_users.sessions import ConsoleSession, digest, open_session, signed_in_user
from kleline.staff_users.sign_in import SUBJECT
from kleline.wallet.passkey import Offer, RelyingParty, check_name

__all__ = ["StaffPasskeys"]


class StaffPasskeys:
    """Register, list and remove a staff user's passkeys; sign in with one."""

    def __init__(self, db: Database, relying_party: RelyingParty, *, clock: Clock, session_ttl: timedelta) -> None:
        self._db = db
        self.relying_party = relying_party
        self._passkeys = Passkeys(db, store.DIRECTORY, relying_party, clock)
        self._clock = clock
        self._session_ttl = session_ttl

    def list(self, user_id: str) -> builtins.list[Passkey]:
        """The person's passkeys, oldest first."""
        return self._passkeys.list(user_id)

    def may_change(self, session: ConsoleSession) -> bool:
        """Whether the session's second factor is fresh enough to add or remove a passkey."""
        return session.signed_in and second_factor_fresh(session.second_factor_at, self._clock())

    # Registering, removing -----------------------------------------------------------------------------------------

    def begin_registration(self, session: ConsoleSession) -> Offer:
        """A ceremony to register a new passkey for the session's person, and its options for the browser: in a
        signed-in session whose second factor is fresh, or for a person at the sign-in's second step without any
        second factor."""
        user = self._registering(session)
        return self._passkeys.offer_registration(user.id, user.email, user.email)

    def register(
        self, session: ConsoleSession, ceremony_id: str, response_json: str, name: str, address: str | None = None
    ) -> tuple[Passkey, ConsoleSession]:
        """Verify a ``navigator.credentials.create`` response for the person's ceremony and keep the passkey; the
        session to go on with: a new, signed-in one if it was at the sign-in's second step."""
        name = check_name(name)
        user = self._registering(session)
        now = self._clock()
        passkey = self._passkeys.registered(ceremony_id, user.id, response_json, name, now)
        after = replace(user, passkey=True)
        with self._db.transaction() as tx:
            _lock(tx, user)  # one change of the person's second factors at a time: the count holds
            self._passkeys.keep(tx, passkey)
            renewed = replace(session, user=after)
            if session.stage == "second_factor":  # a first second factor, at sign-in
                if not sessions_sql.delete_session(tx, store.DIRECTORY, digest(session.token)):
                    raise ConsoleStepMissing("the session ended meanwhile: sign in again")
                renewed = open_session(tx, after, "signed_in", now, now, self._session_ttl)
            actor = user.actor(address)
            audit.record(tx, actor, "staff_passkey_added", SUBJECT, user.id, at=now, after=_named(passkey))
            if session.stage == "second_factor":
                _signed_in(tx, user, address, now)
        return passkey, renewed

    def remove(self, session: ConsoleSession, passkey_id: str, address: str | None = None) -> Passkey:
        """Remove one of the person's passkeys (``PasskeyUnknown`` if it is not theirs, or gone already); the last
        second factor stays (``LastSecondFactor``)."""
        user = self._changing(session)
        now = self._clock()
        with self._db.transaction() as tx:
            authenticator = _lock(tx, user)
            passkey = self._passkeys.find(tx, user.id, passkey_id)
            if self._passkeys.count(tx, user.id) - 1 + (1 if authenticator else 0) < 1:
                raise LastSecondFactor(
                    "a staff user keeps at least one second factor: set up an authenticator app or add another "
                    "passkey before removing this one",
                    param="passkey_id",
                )
            self._passkeys.delete(tx, passkey)
            actor = user.actor(address)
            audit.record(tx, actor, "staff_passkey_removed", SUBJECT, user.id, at=now, before=_named(passkey))
        return passkey

    # The sign-in's second step with a passkey ------------------------------------------------------------------------

    def begin_sign_in(self, session: ConsoleSession) -> Offer | None:
        """A ceremony for the person at the sign-in's second step to give one of its passkeys; None when it has
        none."""
        user = self._awaiting(session)
        return self._passkeys.offer_verification(user.id, "sign_in")

    def pass_second_factor(
        self, session: ConsoleSession, ceremony_id: str, response_json: str, address: str | None = None
    ) -> ConsoleSession:
        """Sign the session in with the passkey's answer to its sign-in ceremony: a new, signed-in session in its
        place. ``PasskeyResponseInvalid`` (or another passkey refusal) otherwise, the session still waiting."""
        user = self._awaiting(session)
        ceremony = self._passkeys.spend(ceremony_id, "sign_in", user.id)
        now = self._clock()
        with self._db.transaction() as tx:
            self._passkeys.verify(tx, user.id, ceremony, response_json, now)
            if not sessions_sql.delete_session(tx, store.DIRECTORY, digest(session.token)):
                raise ConsoleStepMissing("the session ended meanwhile: sign in again")
            signed_in = open_session(tx, user, "signed_in", now, now, self._session_ttl)
            _signed_in(tx, user, address, now)
        return signed_in

    # Helpers -------------------------------------------------------------------------------------------------------

    def _changing(self, session: ConsoleSession) -> StaffUser:
        user = signed_in_user(session)
        if not self.may_change(session):
            raise SecondFactorStale("sign in again to add or remove a passkey: your second factor is not recent")
        return user

    def _registering(self, session: ConsoleSession) -> StaffUser:
        """Who may register a passkey in this session: the signed-in person (its second factor fresh), or a person
        at the sign-in's second step without any second factor."""
        if session.signed_in:
            return self._changing(session)
        user = session.user
        if session.stage != "second_factor" or user is None or step_after_password(user.has_second_factor) != "enrol":
            raise ConsoleStepMissing("sign in with your email and password first")
        return user

    @staticmethod
    def _awaiting(session: ConsoleSession) -> StaffUser:
        """The person of a session at the sign-in's second step, with a passkey to give."""
        user = session.user
        if session.stage != "second_factor" or user is None or not user.passkey:
            raise ConsoleStepMissing("sign in with your email and password first")
        return user


def _named(passkey: Passkey) -> dict[str, str]:
    return {"passkey_id": passkey.id, "name": passkey.name}


def _signed_in(tx: RawTx, user: StaffUser, address: str | None, now: datetime) -> None:
    after = {"method": "passkey"}
    audit.record(tx, user.actor(address), "staff_signed_in", SUBJECT, user.id, at=now, after=after)


def _lock(tx: RawTx, user: StaffUser) -> bool:
    """Lock the person's row for a change of its second factors (two removals at once must not leave it without
    any): whether its authenticator app is confirmed."""
    found = authenticator_store.find_authenticator(tx, store.DIRECTORY, user.id)
    if found is None:
        raise ConsoleStepMissing("this person is no longer on the staff")
    return found.confirmed
