"""Strong customer authentication, persisted: enrolment, challenges, and the exemption decision per payment.

The rules are ``wallet.sca``'s pure functions; this module keeps their state. A customer's guard and exemption
counters sit on the customer's row, read and written under that row's lock in the caller's transaction, so that
twenty concurrent exempt payments cannot slip past the counters. A refused code is recorded (the guard counts it)
and committed before the refusal is raised.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx
from kleline.errors import Conflict, KlelineError, NotFound, ValidationError
from kleline.ids import new_id
from kleline.money import Money
from kleline.wallet import passkey_store, sca, sca_store
from kleline.wallet.passkey import (
    Ceremony,
    PasskeyError,
    PasskeyProof,
    PasskeyResponseInvalid,
    RelyingParty,
    credential_id_of,
    verify_assertion,
)
from kleline.wallet.passkeys import bound_challenge, spend_ceremony
from kleline.wallet.sca import Challenge, Decision, Enrolment, ExemptionPolicy
from kleline.wallet.vault import MasterKeys, open_bytes, rewrap, seal_bytes

__all__ = [
    "AlreadyEnrolled",
    "EnrolmentCodeInvalid",
    "EnrolmentRequired",
    "EnrolmentState",
    "StrongAuth",
    "UnknownChallenge",
]

EnrolmentState = Literal["none", "pending", "confirmed"]

_PURPOSE = b"kleline-totp-v1"


class AlreadyEnrolled(Conflict):
    """The customer already has an authenticator; a second enrolment would silently replace the first."""

    code = "sca_already_enrolled"


class EnrolmentCodeInvalid(ValidationError):
    """The code typed to confirm a new authenticator is not the one the app shows now (or there is nothing to
    confirm)."""

    code = "sca_code_invalid"


class EnrolmentRequired(KlelineError):
    """This payment needs strong authentication and the customer has no authenticator yet."""

    code = "sca_enrolment_required"
    status = 403


class UnknownChallenge(NotFound):
    """No such challenge for this customer."""

    code = "sca_challenge_not_found"


class StrongAuth:
    """Enrol authenticators, issue and check challenges, decide exemptions."""

    def __init__(
        self,
        db: Database,
        master_keys: MasterKeys,
        policy: ExemptionPolicy,
        *,
        clock: Clock,
        relying_party: RelyingParty | None = None,
    ) -> None:
        self._db = db
        self._keys = master_keys
        self.policy = policy
        self._clock = clock
        self._relying_party = relying_party

    def enrol(self, customer_id: str, account_name: str) -> Enrolment:
        """A new TOTP authenticator for the customer: its URI is shown once, its secret is stored sealed. An
        enrolment no code has confirmed yet is replaced (the app was perhaps never set up); a confirmed one stays."""
        enrolment = sca.enrol(account_name)
        sealed = seal_bytes(enrolment.secret.encode("ascii"), self._keys, _PURPOSE)
        now = epoch_us(self._clock())
        try:
            with self._db.transaction() as tx:
                if not sca_store.replace_pending_enrolment(tx, customer_id, sealed, now):
                    sca_store.insert_enrolment(tx, customer_id, sealed, now)
        except INTEGRITY_ERRORS:
            raise AlreadyEnrolled("an authenticator is already enrolled for this wallet") from None
        return enrolment

    def enrolment(self, customer_id: str) -> EnrolmentState:
        """Whether the customer has an authenticator app, and whether a code from it was accepted yet."""
        with self._db.transaction(write=False) as tx:
            confirmed = sca_store.enrolment_confirmed(tx, customer_id)
        return "none" if confirmed is None else "confirmed" if confirmed else "pending"

    def confirm_enrolment(self, customer_id: str, code: str) -> None:
        """Confirm the customer's new authenticator with a code it shows (a confirmed one is left as it is)."""
        now = self._clock()
        with self._db.transaction() as tx:
            sealed = sca_store.find_enrolment(tx, customer_id)
            if sealed is None:
                raise EnrolmentCodeInvalid("no authenticator to confirm: set one up first", param="code")
            secret = open_bytes(sealed, self._keys, _PURPOSE).decode("ascii")
            if sca.code_matches(secret, code, now) is None:
                raise EnrolmentCodeInvalid("this is not the code the authenticator shows now", param="code")
            sca_store.confirm_enrolment(tx, customer_id, epoch_us(now))

    def rotate_keys(self, batch: int = 100) -> int:
        """Re-wrap every sealed TOTP secret under the active master key, in batches (resumable); how many moved."""
        moved = 0
        while True:
            with self._db.transaction() as tx:
                due = sca_store.enrolments_not_under(tx, self._keys.active_id, batch)
                for customer_id, sealed in due:
                    sca_store.save_rewrapped(tx, customer_id, sealed.key_id, rewrap(sealed, self._keys))
            moved += len(due)
            if len(due) < batch:
                return moved

    def issue(self, customer_id: str, amount: Money, payee: str) -> Challenge:
        """A challenge for paying ``amount`` to ``payee``; the customer must have enrolled."""
        with self._db.transaction() as tx:
            if sca_store.find_enrolment(tx, customer_id) is None and not passkey_store.count_passkeys(tx, customer_id):
                raise EnrolmentRequired("enrol an authenticator (POST /v1/wallet/sca/enrolment) to make this payment")
            challenge = sca.issue_challenge(customer_id, amount, payee, self._clock(), new_id("sca"))
            sca_store.insert_challenge(tx, challenge)
        return challenge

    def decide(self, tx: RawTx, customer_id: str, state: sca.ExemptionState, amount: Money) -> Decision:
        """Within the caller's transaction, under the customer's row lock: exempt or not, recording it if so."""
        new_state, decision = sca.decide(self.policy, state, amount)
        if decision.exempt:
            sca_store.save_exemption(tx, customer_id, new_state)
        return decision

    def pass_challenge(self, customer_id: str, challenge_id: str, code: str, amount: Money, payee: str) -> None:
        """Check ``code`` for this payment; on success the exemption counters start again, on failure the guard
        counts it (committed) and the refusal is raised."""
        with self._db.transaction() as tx:
            locked = sca_store.lock_customer(tx, customer_id, self.policy.currency)
            challenge = sca_store.find_challenge(tx, challenge_id, customer_id)
            sealed = sca_store.find_enrolment(tx, customer_id)
            if locked is None or challenge is None or sealed is None:
                raise UnknownChallenge(f"no challenge {challenge_id}", param="challenge_id")
            _, guard, state = locked
            secret = open_bytes(sealed, self._keys, _PURPOSE).decode("ascii")
            result = sca.verify_challenge(challenge, secret, code, amount, payee, self._clock(), guard)
            sca_store.save_challenge(tx, result.challenge)
            sca_store.save_guard(tx, customer_id, result.guard)
            if result.ok:
                sca_store.save_exemption(tx, customer_id, sca.record_challenge_passed(state))
                sca_store.confirm_enrolment(tx, customer_id, epoch_us(self._clock()))
        if result.error is not None:
            raise result.error

    def pass_proof(
        self, customer_id: str, challenge_id: str, proof: str | PasskeyProof, amount: Money, payee: str
    ) -> None:
        """Pass a challenge with either factor: a TOTP code (``str``) or a passkey's answer (``PasskeyProof``)."""
        if isinstance(proof, PasskeyProof):
            self.pass_challenge_with_passkey(
                customer_id, challenge_id, proof.ceremony_id, proof.response_json, amount, payee
            )
        else:
            self.pass_challenge(customer_id, challenge_id, proof, amount, payee)

    def pass_challenge_with_passkey(
        self, customer_id: str, challenge_id: str, ceremony_id: str, response_json: str, amount: Money, payee: str
    ) -> None:
        """Check a passkey's response to the payment ceremony ``ceremony_id`` of the challenge ``challenge_id``, for
        paying ``amount`` to ``payee`` (the signed bytes bind both); as for a code, a response that does not verify
        counts on the guard (committed) and the refusal is raised, and success starts the exemption counters again."""
        if self._relying_party is None:
            raise ValidationError("passkeys are not configured", param="ceremony_id")
        now = self._clock()
        with self._db.transaction() as tx:
            locked = sca_store.lock_customer(tx, customer_id, self.policy.currency)
            challenge = sca_store.find_challenge(tx, challenge_id, customer_id)
            if locked is None or challenge is None:
                raise UnknownChallenge(f"no challenge {challenge_id}", param="challenge_id")
            ceremony = spend_ceremony(tx, ceremony_id, "payment", customer_id, epoch_us(now))
            if ceremony.challenge_id != challenge.id:
                raise UnknownChallenge("this passkey ceremony answers another challenge", param="ceremony_id")
            _, guard, state = locked
            result = sca.check_challenge(challenge, amount, payee, now, guard)
            if result is None:
                result = self._check_passkey(tx, ceremony, challenge, response_json, amount, payee, now, guard)
            sca_store.save_challenge(tx, result.challenge)
            sca_store.save_guard(tx, customer_id, result.guard)
            if result.ok:
                sca_store.save_exemption(tx, customer_id, sca.record_challenge_passed(state))
        if result.error is not None:
            raise result.error

    def _check_passkey(
        self,
        tx: RawTx,
        ceremony: Ceremony,
        challenge: Challenge,
        response_json: str,
        amount: Money,
        payee: str,
        now: datetime,
        guard: sca.AuthGuard,
    ) -> sca.Verification:
        assert self._relying_party is not None
        try:
            passkey = passkey_store.find_by_credential(tx, credential_id_of(response_json))
            if passkey is None or passkey.customer_id != challenge.customer_id:
                raise PasskeyResponseInvalid("this passkey is not registered with this wallet", param="credential")
            # The payment at hand's amount and payee, not the challenge's: a signature for another payment fails.
            signed = bound_challenge(ceremony, challenge, amount, payee)
            count = verify_assertion(self._relying_party, signed, passkey, response_json)
            if not passkey_store.record_use(tx, passkey, count, epoch_us(now)):
                raise PasskeyResponseInvalid("the passkey was used at the same moment elsewhere", param="credential")
        except PasskeyError as refused:
            return sca.failed_attempt(challenge, guard, refused)
        return sca.passed_with_passkey(challenge, guard)
