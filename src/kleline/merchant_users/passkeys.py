"""A merchant user's passkeys: register, list and remove them, and give one as the second factor, at sign-in (its
second step) or before a sensitive act (re-authentication).

The ceremonies and the credentials are every back-office person's (``kleline.identity.passkeys``, on the merchant
users' tables): what is the dashboard's own is who may register or remove one, the sessions, and the merchant's
audit trail.

Adding or removing a passkey in a signed-in session asks for a second factor given less than 15 minutes ago
(``model.may_change_second_factors``), and an owner's last second factor stays (``LastSecondFactor``). An owner who
signs in without any second factor may register a passkey instead of an authenticator app: the session is then
signed in. Each change is written to the merchant's audit trail, with the sign-ins and confirmations it makes.
"""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import timedelta

from kleline.clock import Clock, epoch_us
from kleline.db.engine import Database, RawTx
from kleline.identity.passkeys import Passkeys
from kleline.merchant_users import audit, session_store, store
from kleline.merchant_users.errors import LastSecondFactor, SignInStepMissing
from kleline.merchant_users.model import (
    CeremonyPurpose,
    MerchantPasskey,
    MerchantUser,
    second_factor_removal_refusal,
    step_after_password,
)
from kleline.merchant_users.sessions import (
    DashboardSession,
    check_fresh_second_factor,
    digest,
    open_session,
    signed_in_user,
)
from kleline.wallet.passkey import Offer, RelyingParty, check_name

__all__ = ["MerchantPasskeys"]


class MerchantPasskeys:
    """Register, list and remove a merchant user's passkeys; sign in and confirm it is them with one."""

    def __init__(self, db: Database, relying_party: RelyingParty, *, clock: Clock, session_ttl: timedelta) -> None:
        self._db = db
        self.relying_party = relying_party
        self._passkeys = Passkeys(db, store.DIRECTORY, relying_party, clock)
        self._clock = clock
        self._session_ttl = session_ttl

    # Registering, listing, removing ----------------------------------------------------------------------------

    def list(self, user_id: str) -> builtins.list[MerchantPasskey]:
        """The user's passkeys, oldest first."""
        return self._passkeys.list(user_id)

    def begin_registration(self, session: DashboardSession) -> Offer:
        """A ceremony to register a new passkey for the session's user, and its options for the browser: in a
        signed-in session whose second factor is fresh (or whose user has none yet), or for an owner signing in
        without any second factor."""
        user = self._registering(session)
        return self._passkeys.offer_registration(user.id, user.email, user.name)

    def register(
        self, session: DashboardSession, ceremony_id: str, response_json: str, name: str, address: str | None = None
    ) -> tuple[MerchantPasskey, DashboardSession]:
        """Verify a ``navigator.credentials.create`` response for the user's ceremony and keep the passkey; the
        session to go on with: signed in now if it was at the sign-in's second step, its second factor given now if
        the passkey is the user's first."""
        name = check_name(name)
        user = self._registering(session)
        now = self._clock()
        passkey = self._passkeys.registered(ceremony_id, user.id, response_json, name, now)
        after = replace(user, passkey=True)
        at = epoch_us(now)
        with self._db.transaction() as tx:
            _lock(tx, user)  # one change of the user's second factors at a time: the count holds
            self._passkeys.keep(tx, passkey)
            detail = {"name": name}
            audit.record(
                tx, user.merchant_id, user.id, "passkey_added", at, object_id=passkey.id, detail=detail,
                address=address,
            )  # fmt: skip
            if session.stage == "second_factor":  # an owner's first second factor, at sign-in
                if not session_store.delete_session(tx, digest(session.token)):
                    raise SignInStepMissing("the session ended meanwhile: sign in again")
                detail = {"method": "passkey"}
                audit.record(tx, user.merchant_id, user.id, "signed_in", at, detail=detail, address=address)
                return passkey, open_session(tx, after, "signed_in", now, now, self._session_ttl)
            if user.has_second_factor:
                return passkey, replace(session, user=after)
            session_store.set_second_factor_at(tx, digest(session.token), at)
            return passkey, replace(session, user=after, second_factor_at=now)

    def remove(self, session: DashboardSession, passkey_id: str, address: str | None = None) -> MerchantPasskey:
        """Remove one of the user's passkeys (``PasskeyUnknown`` if it is not theirs, or gone already); an owner's
        last second factor stays (``LastSecondFactor``)."""
        user = check_fresh_second_factor(session, self._clock())
        with self._db.transaction() as tx:
            current, authenticator = _lock(tx, user)
            passkey = self._passkeys.find(tx, user.id, passkey_id)
            left = self._passkeys.count(tx, user.id) - 1 + (1 if authenticator else 0)
            refusal = second_factor_removal_refusal(current.role, left)
            if refusal is not None:
                raise LastSecondFactor(refusal, param="passkey_id")
            self._passkeys.delete(tx, passkey)
            audit.record(
                tx, user.merchant_id, user.id, "passkey_removed", epoch_us(self._clock()), object_id=passkey.id,
                detail={"name": passkey.name}, address=address,
            )  # fmt: skip
        return passkey

    # Giving a passkey as the second factor -----------------------------------------------------------------------

    def begin_verification(self, session: DashboardSession) -> Offer | None:
        """A ceremony for the user to give one of its passkeys: the sign-in's second step (a session at that step)
        or a confirmation before a sensitive act (a signed-in session); None when the user has no passkey."""
        purpose: CeremonyPurpose = "confirm" if session.signed_in else "sign_in"
        user = session.user
        if user is None or session.stage not in ("second_factor", "signed_in"):
            raise SignInStepMissing("sign in with your email and password first")
        return self._passkeys.offer_verification(user.id, purpose)

    def pass_second_factor(
        self, session: DashboardSession, ceremony_id: str, response_json: str, address: str | None = None
    ) -> DashboardSession:
        """Sign the session in with the passkey's answer to its sign-in ceremony: a new, signed-in session in its
        place. ``PasskeyResponseInvalid`` (or another passkey refusal) otherwise, the session still waiting."""
        user = self._awaiting(session)
        ceremony = self._passkeys.spend(ceremony_id, "sign_in", user.id)
        now = self._clock()
        with self._db.transaction() as tx:
            self._passkeys.verify(tx, user.id, ceremony, response_json, now)
            if not session_store.delete_session(tx, digest(session.token)):
                raise SignInStepMissing("the session ended meanwhile: sign in again")
            detail = {"method": "passkey"}
            audit.record(tx, user.merchant_id, user.id, "signed_in", epoch_us(now), detail=detail, address=address)
            return open_session(tx, user, "signed_in", now, now, self._session_ttl)

    def confirm_again(
        self, session: DashboardSession, ceremony_id: str, response_json: str, address: str | None = None
    ) -> DashboardSession:
        """Give a passkey again in a signed-in session (before a sensitive act): the session then counts its second
        factor as given now."""
        user = signed_in_user(session)
        ceremony = self._passkeys.spend(ceremony_id, "confirm", user.id)
        now = self._clock()
        with self._db.transaction() as tx:
            self._passkeys.verify(tx, user.id, ceremony, response_json, now)
            if not session_store.set_second_factor_at(tx, digest(session.token), epoch_us(now)):
                raise SignInStepMissing("the session ended meanwhile: sign in again")
            audit.record(
                tx, user.merchant_id, user.id, "second_factor_confirmed", epoch_us(now),
                detail={"method": "passkey"}, address=address,
            )  # fmt: skip
        return replace(session, second_factor_at=now)

    # Helpers -------------------------------------------------------------------------------------------------------

    def _registering(self, session: DashboardSession) -> MerchantUser:
        """Who may register a passkey in this session: the signed-in user (its second factor fresh, or none yet),
        or an owner at the sign-in's second step without any second factor."""
        if session.signed_in:
            return check_fresh_second_factor(session, self._clock())
        user = session.user
        if (
            session.stage != "second_factor"
            or user is None
            or step_after_password(user.role, user.has_second_factor) != "enrol"
        ):
            raise SignInStepMissing("sign in with your email and password first")
        return user

    @staticmethod
    def _awaiting(session: DashboardSession) -> MerchantUser:
        """The user of a session at the sign-in's second step, with a second factor to give."""
        user = session.user
        if session.stage != "second_factor" or user is None or not user.passkey:
            raise SignInStepMissing("sign in with your email and password first")
        return user


def _lock(tx: RawTx, user: MerchantUser) -> tuple[MerchantUser, bool]:
    """Lock the user's row for a change of its second factors (two removals at once must not leave an owner
    without any): the user as it is now, and whether its authenticator app is confirmed."""
    found = store.find_authenticator(tx, user.id)
    current = store.find_user(tx, user.id, user.merchant_id)
    if found is None or current is None:
        raise SignInStepMissing("this user no longer belongs to the merchant")
    return current, found.confirmed
