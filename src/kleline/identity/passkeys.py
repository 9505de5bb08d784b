"""A kind of people's passkeys (``Passkeys``): the ceremonies that register one or ask for one, and the credentials
kept, on a ``Directory``'s tables; what the merchant users' (``kleline.merchant_users.passkeys``) and the staff
users' (``kleline.staff_users.passkeys``) services share.

The WebAuthn rules are the customers' (``kleline.wallet.passkey``: user verification required, no attestation, the
signature counter moving forward, the relying party Kleline's public address), applied to back-office people: each
ceremony is one person's, for one purpose (``register``, ``sign_in``, ``confirm``), single use, five minutes; it is
spent (committed) before its response is verified, so that a response can be tried once whatever happens next. A
back-office person's passkey is a second factor, asked for by its id after the password: it is registered as a
credential that need not be discoverable, so that it stays out of the shoppers' passkey sign-in.

Who may do what, the sessions and the audit trail are each kind's own; the methods that write work in the caller's
transaction, so that the act and its audit record are kept together.
"""

from __future__ import annotations

import builtins
import secrets
from dataclasses import dataclass
from datetime import datetime

from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx
from kleline.errors import ValidationError
from kleline.identity import passkey_store
from kleline.identity.directory import Directory
from kleline.identity.passkey_model import CeremonyPurpose, Passkey, PasskeyCeremony, user_handle_of
from kleline.ids import new_id
from kleline.wallet.passkey import (
    CEREMONY_LIFETIME,
    CeremonyExpired,
    CeremonyUnknown,
    Offer,
    PasskeyResponseInvalid,
    PasskeyTaken,
    PasskeyUnknown,
    RelyingParty,
    SignCountRegressed,
    authentication_options,
    credential_id_of,
    registration_options,
    verify_assertion,
    verify_registration,
)
from kleline.wallet.passkeys import MAX_PASSKEYS

__all__ = ["Passkeys"]


@dataclass(frozen=True, slots=True)
class Passkeys:
    """The passkeys of the people of ``directory``, for ``relying_party``."""

    db: Database
    directory: Directory
    relying_party: RelyingParty
    clock: Clock

    def list(self, user_id: str) -> builtins.list[Passkey]:
        """The person's passkeys, oldest first."""
        with self.db.transaction(write=False) as tx:
            return passkey_store.list_passkeys(tx, self.directory, user_id)

    def count(self, tx: RawTx, user_id: str) -> int:
        """How many passkeys the person has."""
        return passkey_store.count_passkeys(tx, self.directory, user_id)

    # Ceremonies ----------------------------------------------------------------------------------------------------

    def offer_registration(self, user_id: str, email: str, display_name: str) -> Offer:
        """A ceremony to register a new passkey for the person, and its options for the browser (its passkeys
        excluded, so that one authenticator is not registered twice)."""
        with self.db.transaction() as tx:
            existing = passkey_store.list_passkeys(tx, self.directory, user_id)
            ceremony = self._begin(tx, "register", user_id)
        options = registration_options(
            self.relying_party,
            ceremony.nonce,
            user_handle_of(user_id),
            email,
            display_name,
            existing,
            discoverable=False,
        )
        return Offer(ceremony.id, options)

    def offer_verification(self, user_id: str, purpose: CeremonyPurpose) -> Offer | None:
        """A ceremony for the person to give one of its passkeys (``sign_in`` or ``confirm``); None when it has
        none."""
        with self.db.transaction() as tx:
            passkeys = passkey_store.list_passkeys(tx, self.directory, user_id)
            if not passkeys:
                return None
            ceremony = self._begin(tx, purpose, user_id)
        return Offer(ceremony.id, authentication_options(self.relying_party, ceremony.nonce, passkeys))

    def spend(self, ceremony_id: str, purpose: CeremonyPurpose, user_id: str) -> PasskeyCeremony:
        """Spend the person's ceremony of this purpose, in a transaction of its own, committed before its response
        is verified: ``CeremonyUnknown`` if there is none (or it was spent), ``CeremonyExpired`` if too old."""
        d = self.directory
        with self.db.transaction() as tx:
            ceremony = passkey_store.find_ceremony(tx, d, ceremony_id, lock=True) if ceremony_id else None
            if (
                ceremony is None
                or ceremony.purpose != purpose
                or ceremony.user_id != user_id
                or not passkey_store.mark_ceremony_used(tx, d, ceremony.id)
            ):
                raise CeremonyUnknown(
                    "no such passkey ceremony, or it was used already: start again", param="ceremony_id"
                )
        if self.clock() >= ceremony.expires_at:
            raise CeremonyExpired("the passkey ceremony expired: start again", param="ceremony_id")
        return ceremony

    # Registering, removing ---------------------------------------------------------------------------------------

    def registered(self, ceremony_id: str, user_id: str, response_json: str, name: str, now: datetime) -> Passkey:
        """The passkey a ``navigator.credentials.create`` response makes for the person's registration ceremony
        (spent first), named ``name`` (checked by the caller); not kept yet (``keep``)."""
        ceremony = self.spend(ceremony_id, "register", user_id)
        credential = verify_registration(self.relying_party, ceremony.nonce, response_json)
        return Passkey(
            new_id("pk"),
            user_id,
            credential.credential_id,
            credential.public_key,
            credential.sign_count,
            name,
            credential.transports,
            now,
        )

    def keep(self, tx: RawTx, passkey: Passkey) -> None:
        """Keep a registered passkey: ``ValidationError`` past ``MAX_PASSKEYS``, ``PasskeyTaken`` for a credential
        registered already (the caller holds the person's row locked, so that the count holds)."""
        if passkey_store.count_passkeys(tx, self.directory, passkey.user_id) >= MAX_PASSKEYS:
            raise ValidationError(f"passkeys: a user holds at most {MAX_PASSKEYS}: remove one first", param="passkeys")
        try:
            passkey_store.insert_passkey(tx, self.directory, passkey)
        except INTEGRITY_ERRORS:
            raise PasskeyTaken("this passkey is already registered", param="credential") from None

    def find(self, tx: RawTx, user_id: str, passkey_id: str) -> Passkey:
        """The person's passkey ``passkey_id``; ``PasskeyUnknown`` if it is not theirs, or gone already."""
        passkey = passkey_store.find_passkey(tx, self.directory, passkey_id, user_id)
        if passkey is None:
            raise PasskeyUnknown(f"no passkey {passkey_id} of this user", param="passkey_id")
        return passkey

    def delete(self, tx: RawTx, passkey: Passkey) -> None:
        """Forget one of the person's passkeys (found by ``find``)."""
        passkey_store.delete_passkey(tx, self.directory, passkey.id, passkey.user_id)

    # Giving a passkey --------------------------------------------------------------------------------------------

    def verify(self, tx: RawTx, user_id: str, ceremony: PasskeyCeremony, response_json: str, now: datetime) -> None:
        """Check a ``navigator.credentials.get`` response against the (spent) ceremony and the person's passkeys,
        and store the passkey's new counter."""
        d = self.directory
        credential_id = credential_id_of(response_json)
        passkey = passkey_store.find_passkey_by_credential(tx, d, user_id, credential_id)
        if passkey is None:
            raise PasskeyResponseInvalid("this passkey is not one of this user's", param="credential")
        count = verify_assertion(self.relying_party, ceremony.nonce, passkey, response_json)
        if not passkey_store.record_use(tx, d, passkey, count, epoch_us(now)):
            raise SignCountRegressed("the passkey was used at the same moment elsewhere", param="credential")

    def _begin(self, tx: RawTx, purpose: CeremonyPurpose, user_id: str) -> PasskeyCeremony:
        now = self.clock()
        passkey_store.purge_ceremonies(tx, self.directory, epoch_us(now))
        ceremony = PasskeyCeremony(
            new_id("wac"), purpose, user_id, secrets.token_bytes(32), now, now + CEREMONY_LIFETIME
        )
        passkey_store.insert_ceremony(tx, self.directory, ceremony)
        return ceremony
