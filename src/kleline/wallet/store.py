"""The wallet's SQL: customers (their personal data sealed, ``kleline.wallet.personal_data``) and their tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from kleline.clock import from_epoch_us
from kleline.db.arrays import one_of
from kleline.db.engine import RawTx
from kleline.db.prefixes import ascii_lower, prefix_successor
from kleline.wallet.model import Customer
from kleline.wallet.personal_data import (
    PersonalDataKeys,
    email_index,
    new_customer_key,
    open_field,
    seal_field,
    search_token,
    search_tokens,
    unwrap_customer_key,
)

__all__ = ["CUSTOMER_WIDTH", "CustomerRow", "customer_join", "customer_of_row", "customers_by_prefix"]


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer with what only sign-in needs."""

    customer: Customer
    password_hash: str
    locked_until: int | None


# One round trip reads a customer and its data key; a shredded customer has no key left, and no name or email.
_COLUMNS: Final = (
    "c.id, c.email_sealed, c.name_sealed, c.kyc_level, c.created_at, c.password_hash, c.locked_until, c.erased_at, "
    "k.key_id, k.wrapped_key"
)
_CUSTOMER_COLUMNS = f"{_COLUMNS} FROM customers c LEFT JOIN customer_keys k ON k.customer_id = c.id"
CUSTOMER_WIDTH: Final = 10
"""How many columns ``customer_join`` adds to a query."""


def customer_join(on: str) -> tuple[str, str]:
    """The columns and the joins (``LEFT JOIN``, over the aliases ``c`` and ``k``) that read the customer whose id is
    ``on`` in another table's query: a session's page needs its customer, and reads it in the session's statement
    (``customer_of_row`` decodes them; all NULL when there is no such customer)."""
    joins = f" LEFT JOIN customers c ON c.id = {on} LEFT JOIN customer_keys k ON k.customer_id = c.id"
    return _COLUMNS, joins


def customer_of_row(row: Sequence[Any], keys: PersonalDataKeys) -> Customer | None:
    """The customer of ``customer_join``'s columns, its personal data opened; None when there was no such row."""
    return None if row[0] is None else _customer_row(row, keys).customer


def _customer_row(row: Sequence[Any], keys: PersonalDataKeys) -> CustomerRow:
    customer_id = str(row[0])
    email = name = ""
    if row[8] is not None and row[1] is not None:
        data_key = unwrap_customer_key(str(row[8]), bytes(row[9]), keys.master_keys)
        email = open_field(data_key, customer_id, "email", row[1])
        name = open_field(data_key, customer_id, "name", row[2])
    erased_at = None if row[7] is None else from_epoch_us(int(row[7]))
    customer = Customer(customer_id, email, name, row[3], from_epoch_us(int(row[4])), erased_at)
    return CustomerRow(customer, row[5], None if row[6] is None else int(row[6]))


def insert_customer(tx: RawTx, customer: Customer, password_hash: str, created_at: int, keys: PersonalDataKeys) -> None:
    """Record a new customer under a fresh data key, with the blind index of its email (whose unique key refuses a
    second wallet) and the tokens of the staff's search."""
    key = new_customer_key(keys)
    tx.execute(
        "INSERT INTO customers (id, email_index, email_sealed, name_sealed, password_hash, kyc_level, created_at) "
        "VALUES (:id, :index, :email, :name, :hash, :level, :at)",
        {
            "id": customer.id,
            "index": email_index(customer.email, keys.index_key),
            "email": seal_field(key.key, customer.id, "email", customer.email),
            "name": seal_field(key.key, customer.id, "name", customer.name),
            "hash": password_hash,
            "level": customer.kyc_level,
            "at": created_at,
        },
    )
    tx.execute(
        "INSERT INTO customer_keys (customer_id, key_id, wrapped_key, created_at) VALUES (:id, :key_id, :wrapped, :at)",
        {"id": customer.id, "key_id": key.key_id, "wrapped": key.wrapped_key, "at": created_at},
    )
    tokens = sorted(search_tokens(customer.email, customer.name, keys.index_key))
    tx.executemany(
        "INSERT INTO customer_search_tokens (token, customer_id) VALUES (:token, :id)",
        [{"token": token, "id": customer.id} for token in tokens],
    )


def find_customer(tx: RawTx, customer_id: str, keys: PersonalDataKeys) -> CustomerRow | None:
    """A customer by id, its personal data opened, or None."""
    row = tx.fetchone(f"SELECT {_CUSTOMER_COLUMNS} WHERE c.id = :id", {"id": customer_id})
    return _customer_row(row, keys) if row else None


def find_customers(tx: RawTx, customer_ids: Sequence[str], keys: PersonalDataKeys) -> list[CustomerRow]:
    """The customers among ``customer_ids`` (one query), their personal data opened; unknown ids are left out."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return []
    params: dict[str, object] = {}
    rows = tx.fetchall(f"SELECT {_CUSTOMER_COLUMNS} WHERE {one_of(tx, 'c.id', wanted, 'c', params)}", params)
    return [_customer_row(row, keys) for row in rows]


def find_customer_by_email(tx: RawTx, email: str, keys: PersonalDataKeys) -> CustomerRow | None:
    """A customer by normalised email (through its blind index), or None."""
    row = tx.fetchone(
        f"SELECT {_CUSTOMER_COLUMNS} WHERE c.email_index = :index", {"index": email_index(email, keys.index_key)}
    )
    return _customer_row(row, keys) if row else None


def customer_keys_to_rewrap(tx: RawTx, active_key_id: str, limit: int) -> list[tuple[str, str, bytes]]:
    """Up to ``limit`` customers' data keys (customer, key id, wrapped key) not under ``active_key_id``."""
    rows = tx.fetchall(
        "SELECT customer_id, key_id, wrapped_key FROM customer_keys WHERE key_id <> :active "
        "ORDER BY customer_id LIMIT :limit",
        {"active": active_key_id, "limit": limit},
    )
    return [(str(row[0]), str(row[1]), bytes(row[2])) for row in rows]


def replace_customer_key_wrapping(tx: RawTx, customer_id: str, old_key_id: str, key_id: str, wrapped: bytes) -> bool:
    """Store a re-wrapped data key, if it is still under ``old_key_id`` (a concurrent run may have won)."""
    cursor = tx.execute(
        "UPDATE customer_keys SET key_id = :key_id, wrapped_key = :wrapped WHERE customer_id = :id AND key_id = :old",
        {"key_id": key_id, "wrapped": wrapped, "id": customer_id, "old": old_key_id},
    )
    return int(cursor.rowcount) == 1


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


_SEARCH_SCAN: Final = 1000
"""The most customers one search token is read for (a one-letter prefix of a large base): sorted after opening."""


def customers_by_prefix(tx: RawTx, field: str, prefix: str, limit: int, keys: PersonalDataKeys) -> list[Customer]:
    """Up to ``limit`` customers whose ``field`` (``id``, ``email`` or ``name``, the latter compared lower-cased
    in A-Z: pass ``prefix`` so) begins with ``prefix``, in the order of that field.

    The id is a range of its index; an email or a name is sealed, so its prefix is looked up by its keyed hash
    (``customer_search_tokens``), the matches opened, checked (a prefix longer than the hashed ones) and sorted."""
    if field == "id":
        upper = prefix_successor(prefix)
        key = '(c.id COLLATE "C")' if tx.is_postgres else "c.id"
        condition = f"{key} >= :low" + ("" if upper is None else f" AND {key} < :high")
        rows = tx.fetchall(
            f"SELECT {_CUSTOMER_COLUMNS} WHERE {condition} ORDER BY {key} LIMIT :limit",
            {"low": prefix, "high": upper, "limit": limit},
        )
        return [_customer_row(row, keys).customer for row in rows]
    if field not in ("email", "name"):
        raise ValueError(f"customers are not searched by {field}")
    rows = tx.fetchall(
        f"SELECT {_CUSTOMER_COLUMNS} JOIN customer_search_tokens t ON t.customer_id = c.id "
        "WHERE t.token = :token ORDER BY c.id LIMIT :scan",
        {"token": search_token(field, prefix, keys.index_key), "scan": _SEARCH_SCAN},
    )
    found = [_customer_row(row, keys).customer for row in rows]

    def value(customer: Customer) -> str:
        return customer.email.lower() if field == "email" else ascii_lower(customer.name)

    matches = sorted((c for c in found if value(c).startswith(prefix)), key=lambda c: (value(c).encode(), c.id))
    return matches[:limit]
