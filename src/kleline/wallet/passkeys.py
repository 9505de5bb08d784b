"""Passkeys, persisted: register, list and remove them, sign in with one, and offer one for a payment's challenge.

The rules are ``wallet.passkey``'s; this module keeps their state. Each ceremony is spent (committed) before its
response is verified, so that a response can be tried once whatever happens next. Passing a payment's challenge
with a passkey is ``StrongAuth.pass_challenge_with_passkey``, under the customer's row lock like a TOTP code: the
guard counts a response that does not verify, and the exemption counters start again on success.
"""

from __future__ import annotations

from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx
from kleline.errors import ValidationError
from kleline.ids import new_id
from kleline.money import Money
from kleline.wallet import passkey_store, sca_store, store
from kleline.wallet.passkey import (
    Ceremony,
    CeremonyExpired,
    CeremonyUnknown,
    Offer,
    Passkey,
    PasskeyResponseInvalid,
    PasskeyTaken,
    PasskeyUnknown,
    Purpose,
    RelyingParty,
    SignCountRegressed,
    authentication_options,
    check_name,
    credential_id_of,
    expected_challenge,
    new_ceremony,
    registration_options,
    user_handle_of,
    verify_assertion,
    verify_registration,
)
from kleline.wallet.personal_data import PersonalDataKeys, development_keys
from kleline.wallet.sca import Challenge

__all__ = ["MAX_PASSKEYS", "Passkeys", "bound_challenge", "spend_ceremony"]

MAX_PASSKEYS = 10
"""A wallet holds at most this many passkeys (a phone, a laptop, a security key or two: not hundreds)."""


def spend_ceremony(tx: RawTx, ceremony_id: str, purpose: Purpose, customer_id: str | None, now: int) -> Ceremony:
    """Spend the ceremony ``ceremony_id`` of this purpose (and customer, if given): ``CeremonyUnknown`` if there is
    none or it was spent, ``CeremonyExpired`` if too old. The caller's transaction must commit before it verifies."""
    ceremony = passkey_store.find_ceremony(tx, ceremony_id, lock=True) if ceremony_id else None
    if (
        ceremony is None
        or ceremony.purpose != purpose
        or (customer_id is not None and ceremony.customer_id != customer_id)
        or not passkey_store.mark_ceremony_used(tx, ceremony.id)
    ):
        raise CeremonyUnknown("no such passkey ceremony, or it was used already: start again", param="ceremony_id")
    if now >= epoch_us(ceremony.expires_at):
        raise CeremonyExpired("the passkey ceremony expired: start again", param="ceremony_id")
    return ceremony


class Passkeys:
    """Register, list, remove and sign in with passkeys; offer them for a payment's challenge."""

    def __init__(
        self, db: Database, relying_party: RelyingParty, *, clock: Clock, keys: PersonalDataKeys | None = None
    ) -> None:
        self._db = db
        self._keys = keys or development_keys()
        self.relying_party = relying_party
        self._clock = clock

    def _begin(self, tx: RawTx, purpose: Purpose, customer_id: str | None, challenge_id: str | None) -> Ceremony:
        now = self._clock()
        passkey_store.purge_ceremonies(tx, epoch_us(now))
        ceremony = new_ceremony(purpose, customer_id, challenge_id, now, new_id("wac"))
        passkey_store.insert_ceremony(tx, ceremony)
        return ceremony

    def begin_registration(self, customer_id: str) -> Offer:
        """A ceremony to register a new passkey for the customer, and its options for the browser."""
        with self._db.transaction() as tx:
            row = store.find_customer(tx, customer_id, self._keys)
            if row is None:
                raise PasskeyUnknown("no such customer", param="customer_id")
            existing = passkey_store.list_passkeys(tx, customer_id)
            ceremony = self._begin(tx, "register", customer_id, None)
        options = registration_options(
            self.relying_party,
            expected_challenge(ceremony),
            user_handle_of(customer_id),
            row.customer.email,
            row.customer.name,
            existing,
        )
        return Offer(ceremony.id, options)

    def register(self, customer_id: str, ceremony_id: str, response_json: str, name: str) -> Passkey:
        """Verify a ``navigator.credentials.create`` response for the customer's ceremony and keep the passkey."""
        name = check_name(name)
        with self._db.transaction() as tx:
            ceremony = spend_ceremony(tx, ceremony_id, "register", customer_id, epoch_us(self._clock()))
        credential = verify_registration(self.relying_party, expected_challenge(ceremony), response_json)
        passkey = Passkey(
            new_id("pk"),
            customer_id,
            credential.credential_id,
            credential.public_key,
            credential.sign_count,
            name,
            credential.transports,
            self._clock(),
        )
        try:
            with self._db.transaction() as tx:
                sca_store.lock_customer(
                    tx, customer_id, "EUR"
                )  # one registration at a time per wallet: the count holds
                if passkey_store.count_passkeys(tx, customer_id) >= MAX_PASSKEYS:
                    raise ValidationError(
                        f"a wallet holds at most {MAX_PASSKEYS} passkeys: remove one first", param="name"
                    )
                passkey_store.insert_passkey(tx, passkey)
        except INTEGRITY_ERRORS:
            raise PasskeyTaken("this passkey is already registered", param="credential") from None
        return passkey

    def list(self, customer_id: str) -> list[Passkey]:
        """The customer's passkeys, oldest first."""
        with self._db.transaction(write=False) as tx:
            return passkey_store.list_passkeys(tx, customer_id)

    def remove(self, customer_id: str, passkey_id: str) -> None:
        """Remove one of the customer's passkeys (``PasskeyUnknown`` if it is not theirs, or gone already)."""
        with self._db.transaction() as tx:
            if not passkey_store.delete_passkey(tx, passkey_id, customer_id):
                raise PasskeyUnknown(f"no passkey {passkey_id} in this wallet", param="passkey_id")

    def begin_sign_in(self) -> Offer:
        """A ceremony to sign in with any passkey of this site (no email needed: the passkey names its wallet)."""
        with self._db.transaction() as tx:
            ceremony = self._begin(tx, "sign_in", None, None)
        return Offer(ceremony.id, authentication_options(self.relying_party, expected_challenge(ceremony), []))

    def sign_in(self, ceremony_id: str, response_json: str) -> str:
        """The id of the customer whose passkey answered the sign-in ceremony; ``PasskeyResponseInvalid`` (one
        sentence whatever went wrong, as for a password) or ``SignCountRegressed`` otherwise."""
        now = self._clock()
        with self._db.transaction() as tx:
            ceremony = spend_ceremony(tx, ceremony_id, "sign_in", None, epoch_us(now))
        credential_id = credential_id_of(response_json)
        with self._db.transaction() as tx:
            passkey = passkey_store.find_by_credential(tx, credential_id)
            if passkey is None:
                raise PasskeyResponseInvalid("this passkey is not registered with any wallet", param="credential")
            count = verify_assertion(self.relying_party, expected_challenge(ceremony), passkey, response_json)
            if not passkey_store.record_use(tx, passkey, count, epoch_us(now)):
                raise SignCountRegressed("the passkey was used at the same moment elsewhere", param="credential")
        return passkey.customer_id

    def begin_payment(self, customer_id: str, challenge_id: str) -> Offer | None:
        """A ceremony to pass the customer's open challenge ``challenge_id`` (a payment's, or a top-up's, whose payee
        is the purse) with a passkey, the options binding its amount and payee; None when the customer has no
        passkey, or the challenge is not open any more."""
        now = self._clock()
        with self._db.transaction() as tx:
            challenge = sca_store.find_challenge(tx, challenge_id, customer_id)
            passkeys = passkey_store.list_passkeys(tx, customer_id)
            if challenge is None or not passkeys or challenge.used or challenge.voided or now >= challenge.expires_at:
                return None
            ceremony = self._begin(tx, "payment", customer_id, challenge.id)
        challenge_bytes = bound_challenge(ceremony, challenge, challenge.amount, challenge.payee)
        return Offer(ceremony.id, authentication_options(self.relying_party, challenge_bytes, passkeys))


def bound_challenge(ceremony: Ceremony, challenge: Challenge, amount: Money, payee: str) -> bytes:
    """The bytes a payment ceremony's authenticator signs for paying ``amount`` to ``payee`` under ``challenge``."""
    return expected_challenge(ceremony, challenge, amount=amount.minor, currency=amount.currency, payee=payee)
