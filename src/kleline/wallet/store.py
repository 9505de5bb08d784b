"""The wallet's SQL: customers and their tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kleline.clock import from_epoch_us
from kleline.db.engine import RawTx
from kleline.db.prefixes import prefix_successor
from kleline.wallet.model import Customer

__all__ = ["CustomerRow", "customers_by_prefix"]


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer with what only sign-in needs."""

    customer: Customer
    password_hash: str
    locked_until: int | None


_CUSTOMER_COLUMNS = "id, email, name, kyc_level, created_at, password_hash, locked_until"


def _customer_row(row: Sequence[Any]) -> CustomerRow:
    customer = Customer(row[0], row[1], row[2], row[3], from_epoch_us(int(row[4])))
    return CustomerRow(customer, row[5], None if row[6] is None else int(row[6]))


def insert_customer(tx: RawTx, customer: Customer, password_hash: str, created_at: int) -> None:
    """Record a new customer (the email's unique key refuses a second wallet)."""
    tx.execute(
        "INSERT INTO customers (id, email, name, password_hash, kyc_level, created_at) "
        "VALUES (:id, :email, :name, :hash, :level, :at)",
        {
            "id": customer.id,
            "email": customer.email,
            "name": customer.name,
            "hash": password_hash,
            "level": customer.kyc_level,
            "at": created_at,
        },
    )


def find_customer(tx: RawTx, customer_id: str) -> CustomerRow | None:
    """A customer by id, or None."""
    row = tx.fetchone(f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE id = :id", {"id": customer_id})
    return _customer_row(row) if row else None


def find_customer_by_email(tx: RawTx, email: str) -> CustomerRow | None:
    """A customer by normalised email, or None."""
    row = tx.fetchone(f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE email = :email", {"email": email})
    return _customer_row(row) if row else None


def take_sign_in_attempt(tx: RawTx, customer_id: str, limit: int, now: int, lock_until: int) -> bool:
    """Count an attempt as a failure *before* its password is checked; False when sign-in is locked.

    One conditional UPDATE, so that concurrent attempts are counted one after the other by the row's lock: the
    ``limit``-th locks sign-in until ``lock_until`` (and restarts the count), and an attempt that finds the lock
    set is refused unchecked. However many arrive at once, no more than ``limit`` passwords are checked per lockout.
    A right password then clears the count and the lock (``reset_failed_sign_ins``).
    """
    cursor = tx.execute(
        "UPDATE customers SET "
        "locked_until = CASE WHEN failed_sign_ins + 1 >= :limit THEN :until ELSE NULL END, "
        "failed_sign_ins = CASE WHEN failed_sign_ins + 1 >= :limit THEN 0 ELSE failed_sign_ins + 1 END "
        "WHERE id = :id AND (locked_until IS NULL OR locked_until <= :now)",
        {"limit": limit, "until": lock_until, "id": customer_id, "now": now},
    )
    return bool(cursor.rowcount == 1)


def reset_failed_sign_ins(tx: RawTx, customer_id: str) -> None:
    """A successful sign-in: the count of failures starts again, and the lock its own attempt may have set goes."""
    tx.execute("UPDATE customers SET failed_sign_ins = 0, locked_until = NULL WHERE id = :id", {"id": customer_id})


def set_kyc_level(tx: RawTx, customer_id: str, level: str) -> None:
    """Record a customer's verification level."""
    tx.execute("UPDATE customers SET kyc_level = :level WHERE id = :id", {"level": level, "id": customer_id})


def insert_token(tx: RawTx, token_hash: bytes, customer_id: str, created_at: int, expires_at: int) -> None:
    """Record a token's digest."""
    tx.execute(
        "INSERT INTO customer_tokens (token_hash, customer_id, created_at, expires_at) "
        "VALUES (:hash, :customer, :created, :expires)",
        {"hash": token_hash, "customer": customer_id, "created": created_at, "expires": expires_at},
    )


def live_token(tx: RawTx, token_hash: bytes, now: int) -> str | None:
    """The customer id of an unexpired, unrevoked token, or None."""
    row = tx.fetchone(
        "SELECT customer_id FROM customer_tokens WHERE token_hash = :hash AND revoked_at IS NULL AND expires_at > :now",
        {"hash": token_hash, "now": now},
    )
    return None if row is None else str(row[0])


def revoke_token(tx: RawTx, token_hash: bytes, now: int) -> None:
    """Revoke a token (a no-op if it is unknown or already revoked)."""
    tx.execute(
        "UPDATE customer_tokens SET revoked_at = :now WHERE token_hash = :hash AND revoked_at IS NULL",
        {"now": now, "hash": token_hash},
    )


def set_password_hash(tx: RawTx, customer_id: str, password_hash: str) -> None:
    """Record a customer's new password hash."""
    tx.execute("UPDATE customers SET password_hash = :hash WHERE id = :id", {"hash": password_hash, "id": customer_id})


def end_every_session(tx: RawTx, customer_id: str, now: int) -> None:
    """Revoke each of the customer's API tokens and end each of their page sessions (the pages' sessions are rows
    of ``web_sessions``: deleting them ends them wherever their cookie was copied to)."""
    tx.execute(
        "UPDATE customer_tokens SET revoked_at = :now WHERE customer_id = :customer AND revoked_at IS NULL",
        {"now": now, "customer": customer_id},
    )
    tx.execute("DELETE FROM web_sessions WHERE customer_id = :customer", {"customer": customer_id})


def _prefix_key(tx: RawTx, field: str) -> str:
    """The indexed form of ``field`` a prefix is a range of (migration 0038): the id and the email as they are, the
    name lower-cased in A-Z; byte by byte (PostgreSQL's C collation, SQLite's binary one)."""
    if field == "name":
        return 'lower(name COLLATE "C")' if tx.is_postgres else "lower(name)"
    return f'({field} COLLATE "C")' if tx.is_postgres else field


def customers_by_prefix(tx: RawTx, field: str, prefix: str, limit: int) -> list[Customer]:
    """Up to ``limit`` customers whose ``field`` (``id``, ``email`` or ``name``, the latter compared lower-cased
    in A-Z: pass ``prefix`` so) begins with ``prefix``, in the order of that field; one range of an index."""
    if field not in ("id", "email", "name"):
        raise ValueError(f"customers are not searched by {field}")
    key = _prefix_key(tx, field)
    upper = prefix_successor(prefix)
    condition = f"{key} >= :low" + ("" if upper is None else f" AND {key} < :high")
    rows = tx.fetchall(
        f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE {condition} ORDER BY {key}, id LIMIT :limit",
        {"low": prefix, "high": upper, "limit": limit},
    )
    return [_customer_row(row).customer for row in rows]
