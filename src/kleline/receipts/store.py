"""Receipts' SQL: the signed document as canonical JSON, its signature, and the parties for look-ups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kleline.clock import epoch_us
from kleline.db.engine import RawTx
from kleline.receipts.model import canonical_bytes, loads_strict, parse_receipt
from kleline.receipts.signing import Signature, SignedReceipt

__all__ = ["find_receipt", "insert_receipt", "receipt_customer"]

_COLUMNS = "document, key_id, signature"


def insert_receipt(tx: RawTx, signed: SignedReceipt, customer_id: str) -> bool:
    """Record a signed receipt unless its object already has one; True when this call recorded it."""
    receipt = signed.receipt
    cursor = tx.execute(
        "INSERT INTO receipts (object_id, receipt_id, kind, payment_id, merchant_id, customer_id, document, key_id, "
        "signature, issued_at) VALUES (:object, :receipt, :kind, :payment, :merchant, :customer, :document, :key, "
        ":signature, :at) ON CONFLICT (object_id) DO NOTHING",
        {
            "object": receipt.object_id,
            "receipt": receipt.receipt_id,
            "kind": receipt.kind,
            "payment": receipt.payment_id,
            "merchant": receipt.merchant_id,
            "customer": customer_id,
            "document": canonical_bytes(receipt.document()).decode("utf-8"),
            "key": signed.signature.key_id,
            "signature": signed.signature.value,
            "at": epoch_us(receipt.issued_at),
        },
    )
    return bool(cursor.rowcount == 1)


def _signed(row: Sequence[Any]) -> SignedReceipt:
    return SignedReceipt(parse_receipt(loads_strict(row[0])), Signature(row[1], row[2]))


def find_receipt(tx: RawTx, object_id: str) -> SignedReceipt | None:
    """The receipt of a payment or refund, or None."""
    row = tx.fetchone(f"SELECT {_COLUMNS} FROM receipts WHERE object_id = :id", {"id": object_id})
    return _signed(row) if row else None


def receipt_customer(tx: RawTx, object_id: str) -> str | None:
    """Whose receipt it is: the customer's own id (the document names them by a pseudonym), or None."""
    row = tx.fetchone("SELECT customer_id FROM receipts WHERE object_id = :id", {"id": object_id})
    return None if row is None else str(row[0])
