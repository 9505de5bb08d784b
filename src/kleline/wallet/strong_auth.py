"""Strong customer authentication, persisted: enrolment, challenges, and the exemption decision per payment.

The rules are ``wallet.sca``'s pure functions; this module keeps their state. A customer's guard and exemption
counters sit on the customer's row, read and written under that row's lock in the caller's transaction, so that
twenty concurrent exempt payments cannot slip past the counters. A refused code is recorded (the guard counts it)
and committed before the refusal is raised.
"""

from __future__ import annotations

from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database, RawTx
from kleline.errors import Conflict, KlelineError, NotFound
from kleline.ids import new_id
from kleline.money import Money
from kleline.wallet import sca, sca_store
from kleline.wallet.sca import Challenge, Decision, Enrolment, ExemptionPolicy
from kleline.wallet.vault import MasterKeys, open_bytes, rewrap, seal_bytes

__all__ = ["AlreadyEnrolled", "EnrolmentRequired", "StrongAuth", "UnknownChallenge"]

_PURPOSE = b"kleline-totp-v1"


class AlreadyEnrolled(Conflict):
    """The customer already has an authenticator; a second enrolment would silently replace the first."""

    code = "sca_already_enrolled"


class EnrolmentRequired(KlelineError):
    """This payment needs strong authentication and the customer has no authenticator yet."""

    code = "sca_enrolment_required"
    status = 403


class UnknownChallenge(NotFound):
    """No such challenge for this customer."""

    code = "sca_challenge_not_found"


class StrongAuth:
    """Enrol authenticators, issue and check challenges, decide exemptions."""

    def __init__(self, db: Database, master_keys: MasterKeys, policy: ExemptionPolicy, *, clock: Clock) -> None:
        self._db = db
        self._keys = master_keys
        self.policy = policy
        self._clock = clock

    def enrol(self, customer_id: str, account_name: str) -> Enrolment:
        """A new TOTP authenticator for the customer: its URI is shown once, its secret is stored sealed."""
        enrolment = sca.enrol(account_name)
        sealed = seal_bytes(enrolment.secret.encode("ascii"), self._keys, _PURPOSE)
        try:
            with self._db.transaction() as tx:
                sca_store.insert_enrolment(tx, customer_id, sealed, epoch_us(self._clock()))
        except INTEGRITY_ERRORS:
            raise AlreadyEnrolled("an authenticator is already enrolled for this wallet") from None
        return enrolment

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
            if sca_store.find_enrolment(tx, customer_id) is None:
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
        if result.error is not None:
            raise result.error
