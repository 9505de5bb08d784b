"""The SQL of the customer's rights: what an export reads, what erasure checks and ends, what shredding destroys.

Reads the tables of other packages (wallet, payments, collections, offers of migration 0041) as they stand, for one
customer, without changing any of them but through the erasure and shredding writes below.
"""

from __future__ import annotations

from typing import Any

from kleline.db.engine import RawTx

__all__ = [
    "bank_accounts",
    "begin_erasure",
    "due_for_shredding",
    "end_relationship",
    "offers",
    "open_business",
    "payments",
    "purse_balance",
    "shred",
    "sign_ins",
    "top_ups",
]


def _rows(tx: RawTx, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = tx.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def purse_balance(tx: RawTx, purse_code: str) -> tuple[int, int]:
    """(posted, held) of the purse, in minor units; (0, 0) when it was never opened."""
    row = tx.fetchone(
        "SELECT COALESCE(SUM(b.balance), 0), COALESCE(SUM(b.held), 0) FROM ledger_accounts a "
        "JOIN ledger_balances b ON b.account_id = a.id WHERE a.code = :code",
        {"code": purse_code},
    )
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


def open_business(tx: RawTx, customer_id: str) -> list[str]:
    """What keeps the relationship open: payments not yet settled either way, top-ups and direct debits under way."""
    found = []
    row = tx.fetchone(
        "SELECT COUNT(*) FROM payments WHERE customer_id = :id "
        "AND status IN ('requires_action', 'processing', 'authorized')",
        {"id": customer_id},
    )
    if row and int(row[0]):
        found.append("payment")
    row = tx.fetchone(
        "SELECT COUNT(*) FROM top_ups WHERE customer_id = :id AND status IN ('pending', 'requires_action')",
        {"id": customer_id},
    )
    if row and int(row[0]):
        found.append("top_up")
    row = tx.fetchone(
        "SELECT COUNT(*) FROM collections WHERE customer_id = :id AND status IN ('pending', 'submitted')",
        {"id": customer_id},
    )
    if row and int(row[0]):
        found.append("direct_debit")
    return found


def begin_erasure(tx: RawTx, customer_id: str, now: int) -> bool:
    """Mark the relationship ended (taking the customer's row lock, which top-ups and payments take too); False if
    it already was."""
    cursor = tx.execute(
        "UPDATE customers SET erased_at = :now WHERE id = :id AND erased_at IS NULL", {"now": now, "id": customer_id}
    )
    return int(cursor.rowcount) == 1


def end_relationship(tx: RawTx, customer_id: str, now: int) -> None:
    """End every session and token, remove the cards and bank accounts from use, cancel what waits for the customer."""
    tx.execute(
        "UPDATE customer_tokens SET revoked_at = :now WHERE customer_id = :id AND revoked_at IS NULL",
        {"now": now, "id": customer_id},
    )
    tx.execute("DELETE FROM web_sessions WHERE customer_id = :id", {"id": customer_id})
    tx.execute(
        "UPDATE cards SET deleted_at = :now WHERE customer_id = :id AND deleted_at IS NULL",
        {"now": now, "id": customer_id},
    )
    tx.execute(
        "UPDATE bank_accounts SET deleted_at = :now WHERE customer_id = :id AND deleted_at IS NULL",
        {"now": now, "id": customer_id},
    )


def due_for_shredding(tx: RawTx, ended_before: int, limit: int) -> list[str]:
    """Customers whose relationship ended before ``ended_before`` and whose key still exists."""
    rows = tx.fetchall(
        "SELECT c.id FROM customers c JOIN customer_keys k ON k.customer_id = c.id "
        "WHERE c.erased_at IS NOT NULL AND c.erased_at < :before ORDER BY c.erased_at, c.id LIMIT :limit",
        {"before": ended_before, "limit": limit},
    )
    return [str(row[0]) for row in rows]


_WIPED = "erased"


def shred(tx: RawTx, customer_id: str, now: int) -> None:
    """Destroy the customer's key and what was not sealed under it: cards' wrapped number keys and holder names,
    bank accounts' IBAN and holder, sign-in records, passkeys, strong-authentication enrolment, search tokens; the
    blind index gives way to a mark that is no one's address. Ledger entries, payments and top-ups stay, by id."""
    tx.execute("DELETE FROM customer_keys WHERE customer_id = :id", {"id": customer_id})
    tx.execute("DELETE FROM customer_search_tokens WHERE customer_id = :id", {"id": customer_id})
    tx.execute(
        "UPDATE customers SET email_index = :mark, email_sealed = NULL, name_sealed = NULL, shredded_at = :now "
        "WHERE id = :id",
        {"mark": f"shredded:{customer_id}", "now": now, "id": customer_id},
    )
    tx.execute(
        "UPDATE cards SET holder_name = :wiped, holder_sealed = NULL, key_id = :wiped, wrapped_key = :none, "
        "nonce = :none, ciphertext = :none WHERE customer_id = :id",
        {"wiped": _WIPED, "none": b"", "id": customer_id},
    )
    tx.execute(
        "UPDATE bank_accounts SET holder_name = :wiped, iban = :wiped, bic = NULL WHERE customer_id = :id",
        {"wiped": _WIPED, "id": customer_id},
    )
    for table in ("sign_ins", "passkeys", "sca_enrolments", "passkey_ceremonies"):
        tx.execute(f"DELETE FROM {table} WHERE customer_id = :id", {"id": customer_id})


# --- the export's reads --------------------------------------------------------------------------------------------


def bank_accounts(tx: RawTx, customer_id: str) -> list[dict[str, Any]]:
    """The customer's bank accounts and mandates (the IBAN masked by the caller)."""
    return _rows(
        tx,
        "SELECT id, iban, bic, holder_name, mandate_id, mandate_signed_at, created_at, deleted_at FROM bank_accounts "
        "WHERE customer_id = :id ORDER BY created_at, id",
        {"id": customer_id},
    )


def top_ups(tx: RawTx, customer_id: str) -> list[dict[str, Any]]:
    """The customer's top-ups, oldest first."""
    return _rows(
        tx,
        "SELECT id, amount, currency, status, failure_code, card_id, bank_account_id, created_at FROM top_ups "
        "WHERE customer_id = :id ORDER BY created_at, id",
        {"id": customer_id},
    )


def payments(tx: RawTx, customer_id: str) -> list[dict[str, Any]]:
    """The customer's payments with the merchant's name, oldest first."""
    return _rows(
        tx,
        "SELECT p.id, p.merchant_id, m.name AS merchant_name, p.amount, p.currency, p.status, p.method, p.card_id, "
        "p.amount_captured, p.amount_refunded, p.description, p.reference, p.created_at "
        "FROM payments p JOIN merchants m ON m.id = p.merchant_id WHERE p.customer_id = :id "
        "ORDER BY p.created_at, p.id",
        {"id": customer_id},
    )


def offers(tx: RawTx, customer_id: str) -> list[dict[str, Any]]:
    """The offers delivered to the customer, with the merchant's name and the customer's answer."""
    return _rows(
        tx,
        "SELECT o.id AS offer_id, o.merchant_id, m.name AS merchant_name, o.title, o.body, o.link, o.valid_from, "
        "o.valid_until, d.delivered_at, d.read_at, d.answered_at, d.answer FROM offer_deliveries d "
        "JOIN offers o ON o.id = d.offer_id JOIN merchants m ON m.id = o.merchant_id "
        "WHERE d.customer_id = :id ORDER BY d.delivered_at, o.id",
        {"id": customer_id},
    )


def sign_ins(tx: RawTx, customer_id: str) -> list[dict[str, Any]]:
    """The customer's recorded sign-ins, oldest first."""
    return _rows(
        tx,
        "SELECT id, at, method, channel, browser, system, network FROM sign_ins WHERE customer_id = :id "
        "ORDER BY at, id",
        {"id": customer_id},
    )
