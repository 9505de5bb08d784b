"""Issuing receipts (inside the payment's own transaction) and reading them back.

A receipt is written in the same transaction as the capture or refund it attests, so that there is never a captured
payment without its receipt nor a receipt for a capture that was rolled back. Issuing is idempotent per object: the
first receipt of a payment or refund stands, and a second call (a retried capture) returns it unchanged rather
than signing another version of the facts.
"""

from __future__ import annotations

from datetime import datetime

from kleline.db.engine import Database, RawTx
from kleline.errors import NotFound
from kleline.ids import new_id
from kleline.money import Money
from kleline.receipts import store
from kleline.receipts.model import Receipt, ReceiptKind
from kleline.receipts.signing import PublicKeys, SignedReceipt, SigningKeys

__all__ = ["Receipts"]


class Receipts:
    """Signed receipts of captured payments and refunds."""

    def __init__(self, db: Database, keys: SigningKeys) -> None:
        self._db = db
        self._keys = keys

    def issue(
        self,
        tx: RawTx,
        *,
        kind: ReceiptKind,
        object_id: str,
        payment_id: str,
        merchant_id: str,
        merchant_name: str,
        customer_id: str,
        customer_ref: str,
        amount: Money,
        commission: Money,
        issued_at: datetime,
    ) -> SignedReceipt:
        """Sign and record the receipt of a payment (``object_id`` = ``payment_id``) or a refund, in ``tx``; the
        receipt already recorded for ``object_id`` if there is one. The document names the customer as
        ``customer_ref`` (their pseudonym for the merchant, who may fetch the receipt too); ``customer_id`` is kept
        beside it, unsigned, to know whose receipt it is (``customer_of``)."""
        receipt = Receipt(
            receipt_id=new_id("rcpt"),
            kind=kind,
            object_id=object_id,
            payment_id=payment_id,
            merchant_id=merchant_id,
            merchant_name=merchant_name,
            customer_id=customer_ref,
            amount=amount,
            commission=commission,
            issued_at=issued_at,
        )
        signed = self._keys.sign(receipt)
        # Insert first and read only on a conflict: the common case costs one statement.
        if store.insert_receipt(tx, signed, customer_id):
            return signed
        existing = store.find_receipt(tx, object_id)
        if existing is None:  # the conflicting row cannot vanish inside our transaction
            raise RuntimeError(f"receipt of {object_id} neither inserted nor found")
        return existing

    def get(self, object_id: str) -> SignedReceipt:
        """The receipt of a payment (``pay_...``) or refund (``re_...``); ``NotFound`` if it has none."""
        with self._db.transaction(write=False) as tx:
            signed = store.find_receipt(tx, object_id)
        if signed is None:
            raise NotFound(f"no receipt for {object_id}")
        return signed

    def customer_of(self, object_id: str) -> str | None:
        """The customer a receipt belongs to (their own id, which the document does not carry), or None."""
        with self._db.transaction(write=False) as tx:
            return store.receipt_customer(tx, object_id)

    def public_keys(self) -> PublicKeys:
        """The keys receipts verify against (``GET /v1/keys``), the active one first."""
        return self._keys.public_keys()

    @property
    def active_key_id(self) -> str:
        """The id of the key signing new receipts."""
        return self._keys.active_id
