"""Strong authentication's SQL: sealed TOTP secrets, challenges, and the per-customer guard and counters.

The guard and the exemption counters live on the customer's row, which every top-up and payment locks: one
lock per customer keeps limits and exemptions exact under concurrent requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import RawTx
from kleline.money import Money
from kleline.wallet.sca import AuthGuard, Challenge, ExemptionState
from kleline.wallet.vault import SealedCard

__all__ = [
    "confirm_enrolment",
    "enrolment_confirmed",
    "find_challenge",
    "enrolments_not_under",
    "find_enrolment",
    "insert_challenge",
    "insert_enrolment",
    "replace_pending_enrolment",
    "lock_customer",
    "save_challenge",
    "save_exemption",
    "save_guard",
    "save_rewrapped",
]


def insert_enrolment(tx: RawTx, customer_id: str, sealed: SealedCard, created_at: int) -> None:
    """Record a customer's sealed TOTP secret (the primary key refuses a second enrolment)."""
    tx.execute(
        "INSERT INTO sca_enrolments (customer_id, key_id, wrapped_key, nonce, ciphertext, created_at) "
        "VALUES (:customer, :key_id, :wrapped, :nonce, :ciphertext, :at)",
        _sealed_params(customer_id, sealed, created_at),
    )


def replace_pending_enrolment(tx: RawTx, customer_id: str, sealed: SealedCard, created_at: int) -> bool:
    """Put a new secret in place of a customer's unconfirmed one; False if there is none (or it is confirmed)."""
    found = tx.fetchall(
        "UPDATE sca_enrolments SET key_id = :key_id, wrapped_key = :wrapped, nonce = :nonce, "
        "ciphertext = :ciphertext, created_at = :at WHERE customer_id = :customer AND confirmed_at IS NULL "
        "RETURNING customer_id",
        _sealed_params(customer_id, sealed, created_at),
    )
    return bool(found)


def _sealed_params(customer_id: str, sealed: SealedCard, created_at: int) -> dict[str, Any]:
    return {
        "customer": customer_id,
        "key_id": sealed.key_id,
        "wrapped": sealed.wrapped_key,
        "nonce": sealed.nonce,
        "ciphertext": sealed.ciphertext,
        "at": created_at,
    }


def enrolment_confirmed(tx: RawTx, customer_id: str) -> bool | None:
    """Whether the customer's authenticator was confirmed by a first accepted code; None if they have none."""
    row = tx.fetchone(
        "SELECT confirmed_at FROM sca_enrolments WHERE customer_id = :customer", {"customer": customer_id}
    )
    return None if row is None else row[0] is not None


def confirm_enrolment(tx: RawTx, customer_id: str, at: int) -> None:
    """Record that a code from the customer's authenticator was accepted (the first time only)."""
    tx.execute(
        "UPDATE sca_enrolments SET confirmed_at = :at WHERE customer_id = :customer AND confirmed_at IS NULL",
        {"at": at, "customer": customer_id},
    )


def find_enrolment(tx: RawTx, customer_id: str) -> SealedCard | None:
    """A customer's sealed TOTP secret, or None if they never enrolled."""
    row = tx.fetchone(
        "SELECT key_id, wrapped_key, nonce, ciphertext FROM sca_enrolments WHERE customer_id = :customer",
        {"customer": customer_id},
    )
    return None if row is None else SealedCard(row[0], bytes(row[1]), bytes(row[2]), bytes(row[3]))


def enrolments_not_under(tx: RawTx, key_id: str, limit: int) -> list[tuple[str, SealedCard]]:
    """Up to ``limit`` enrolments whose secret is wrapped under another master key than ``key_id``."""
    rows = tx.fetchall(
        "SELECT customer_id, key_id, wrapped_key, nonce, ciphertext FROM sca_enrolments WHERE key_id <> :key_id "
        "ORDER BY customer_id LIMIT :limit",
        {"key_id": key_id, "limit": limit},
    )
    return [(r[0], SealedCard(r[1], bytes(r[2]), bytes(r[3]), bytes(r[4]))) for r in rows]


def save_rewrapped(tx: RawTx, customer_id: str, old_key_id: str, sealed: SealedCard) -> None:
    """Store a re-wrapped secret, unless a concurrent rotation already moved it."""
    tx.execute(
        "UPDATE sca_enrolments SET key_id = :key_id, wrapped_key = :wrapped WHERE customer_id = :customer "
        "AND key_id = :old",
        {"key_id": sealed.key_id, "wrapped": sealed.wrapped_key, "customer": customer_id, "old": old_key_id},
    )


def lock_customer(tx: RawTx, customer_id: str, currency: str) -> tuple[str, AuthGuard, ExemptionState] | None:
    """Lock the customer's row for this transaction; its (verification level, guard, exemption counters)."""
    lock = " FOR UPDATE" if tx.is_postgres else ""
    row = tx.fetchone(
        "SELECT kyc_level, sca_failures, sca_last_step, exempt_payments, exempt_amount FROM customers "
        f"WHERE id = :id{lock}",
        {"id": customer_id},
    )
    if row is None:
        return None
    guard = AuthGuard(int(row[1]), None if row[2] is None else int(row[2]))
    return str(row[0]), guard, ExemptionState(int(row[3]), Money(int(row[4]), currency))


def save_guard(tx: RawTx, customer_id: str, guard: AuthGuard) -> None:
    """Record the customer's consecutive failures and last accepted time step."""
    tx.execute(
        "UPDATE customers SET sca_failures = :failures, sca_last_step = :step WHERE id = :id",
        {"failures": guard.consecutive_failures, "step": guard.last_accepted_step, "id": customer_id},
    )


def save_exemption(tx: RawTx, customer_id: str, state: ExemptionState) -> None:
    """Record what the customer paid without a challenge since the last one (no answer awaited: ``RawTx.defer``)."""
    tx.defer(
        "UPDATE customers SET exempt_payments = :payments, exempt_amount = :amount WHERE id = :id",
        {"payments": state.payments_since_challenge, "amount": state.amount_since_challenge.minor, "id": customer_id},
    )


def insert_challenge(tx: RawTx, challenge: Challenge) -> None:
    """Record a new challenge."""
    tx.execute(
        "INSERT INTO sca_challenges (id, customer_id, amount, currency, payee, created_at, expires_at, used, voided) "
        "VALUES (:id, :customer, :amount, :currency, :payee, :created, :expires, :used, :voided)",
        _challenge_params(challenge),
    )


def find_challenge(tx: RawTx, challenge_id: str, customer_id: str) -> Challenge | None:
    """The customer's challenge ``challenge_id`` (another customer's is None: nothing revealed)."""
    row = tx.fetchone(
        "SELECT id, customer_id, amount, currency, payee, created_at, expires_at, used, voided FROM sca_challenges "
        "WHERE id = :id AND customer_id = :customer",
        {"id": challenge_id, "customer": customer_id},
    )
    return None if row is None else _challenge(row)


def save_challenge(tx: RawTx, challenge: Challenge) -> None:
    """Record that a challenge was passed or voided."""
    tx.execute("UPDATE sca_challenges SET used = :used, voided = :voided WHERE id = :id", _challenge_params(challenge))


def _challenge_params(challenge: Challenge) -> dict[str, Any]:
    return {
        "id": challenge.id,
        "customer": challenge.customer_id,
        "amount": challenge.amount.minor,
        "currency": challenge.amount.currency,
        "payee": challenge.payee,
        "created": epoch_us(challenge.created_at),
        "expires": epoch_us(challenge.expires_at),
        "used": challenge.used,
        "voided": challenge.voided,
    }


def _challenge(row: Sequence[Any]) -> Challenge:
    return Challenge(
        row[0],
        row[1],
        Money(int(row[2]), row[3]),
        row[4],
        from_epoch_us(int(row[5])),
        from_epoch_us(int(row[6])),
        bool(row[7]),
        bool(row[8]),
    )
