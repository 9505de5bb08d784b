"""Refunds: partial and repeated, never above what was captured and not yet refunded.

Each refund returns the difference of the commission before and after it (DESIGN.md section 2), so the split
depends on what was refunded before. To keep it exact, refunds of one payment are taken one at a time: a refund
reserves its amount on the payment (``amount_refunding``) under the payment's lock, posts its entry (id = the
refund's id, so a retry cannot post twice), then records the outcome with its event and receipt. A second refund
while one is under way is refused (``refund_in_progress``) and may simply be retried.

The merchant's balance has a floor of zero: a merchant whose balance was already paid out cannot refund from
nothing, and the refund ends ``failed`` with ``insufficient_merchant_balance``, its reservation released.
"""

from __future__ import annotations

import builtins
from datetime import timedelta

from kleline.clock import epoch_us
from kleline.errors import NotFound, ValidationError
from kleline.events import outbox
from kleline.ids import new_id
from kleline.ledger import EntryRequest, InsufficientFunds, Ledger
from kleline.merchants.service import Merchants
from kleline.money import Money
from kleline.payments import postings, store
from kleline.payments.book import PaymentBook
from kleline.payments.errors import PaymentStateConflict, RefundInProgress, RefundTooLarge
from kleline.payments.model import Refund, RefundSplit, refund_split
from kleline.payments.views import refund_json
from kleline.receipts.service import Receipts

__all__ = ["Refunds"]


class Refunds:
    """Refund captured payments, in part or in full."""

    def __init__(self, book: PaymentBook, ledger: Ledger, merchants: Merchants, receipts: Receipts) -> None:
        self._book = book
        self._db = book.db
        self._clock = book.clock
        self._ledger = ledger
        self._merchants = merchants
        self._receipts = receipts

    def refund(self, merchant_id: str, payment_id: str, amount: Money | None = None) -> Refund:
        """Give back ``amount`` (everything still refundable by default) to where the payment came from."""
        return self._post(self._reserve(merchant_id, payment_id, amount))

    def _post(self, refund: Refund) -> Refund:
        payment = self._book.get(refund.payment_id)
        split = RefundSplit(refund.amount.minor, refund.fee_returned)
        try:
            self._ledger.post(
                EntryRequest(
                    refund.id,
                    postings.refund_postings(payment, split),
                    "payment refunded",
                    {"payment": payment.id, "refund": refund.id, "merchant": payment.merchant_id},
                )
            )
        except InsufficientFunds:
            return self._finish(refund, "failed", "insufficient_merchant_balance")
        return self._finish(refund, "succeeded", None)

    def resume_stalled(self, older_than: timedelta, limit: int = 100) -> builtins.list[str]:
        """The sweep: finish refunds whose process died between reservation and outcome; their ids.

        The entry is posted under the refund's id with the split recorded at reservation, so a refund whose entry
        did get posted is only recorded, and one whose entry did not is posted now, once."""
        with self._db.transaction(write=False) as tx:
            due = store.stalled_refunds(tx, epoch_us(self._clock() - older_than), limit)
        for refund_id in due:
            self._post(self.get(refund_id))
        return due

    def get(self, refund_id: str) -> Refund:
        """A refund, whoever asks (callers check who may see it)."""
        with self._db.transaction(write=False) as tx:
            refund = store.load_refund(tx, refund_id)
        if refund is None:
            raise NotFound(f"no refund {refund_id}", param="id")
        return refund

    def list(
        self, *, payment_id: str | None = None, merchant_id: str | None = None, limit: int = 20
    ) -> builtins.list[Refund]:
        """Refunds newest first, of a payment or a merchant."""
        with self._db.transaction(write=False) as tx:
            return store.list_refunds(tx, payment_id=payment_id, merchant_id=merchant_id, limit=limit)

    def _reserve(self, merchant_id: str, payment_id: str, amount: Money | None) -> Refund:
        with self._db.transaction() as tx:
            payment = self._book.load(tx, payment_id, lock=True)
            if payment.merchant_id != merchant_id:
                raise NotFound(f"no payment {payment_id}", param="payment_id")
            if payment.status != "succeeded":
                raise PaymentStateConflict(f"payment {payment_id} is {payment.status}; only a captured one refunds")
            if payment.amount_refunding:
                raise RefundInProgress(f"another refund of payment {payment_id} is under way; retry in a moment")
            left = payment.refundable
            minor = left if amount is None else amount.minor
            if amount is not None and amount.currency != payment.currency:
                raise ValidationError(f"the payment is in {payment.currency}, not {amount.currency}", param="currency")
            if left == 0:
                raise RefundTooLarge(f"payment {payment_id} is already refunded in full", param="amount")
            if minor <= 0:
                raise ValidationError("amount must be a positive number of minor units", param="amount")
            if minor > left:
                raise RefundTooLarge(f"refund of {minor} is above the {left} still refundable", param="amount")
            split = refund_split(payment.amount_captured, payment.amount_refunded, minor, payment.fee_bps)
            refund = Refund(
                id=new_id("re"),
                payment_id=payment.id,
                merchant_id=payment.merchant_id,
                amount=Money(minor, payment.currency),
                status="pending",
                fee_returned=split.fee_returned,
                failure_code=None,
                created_at=self._clock(),
            )
            store.insert_refund(tx, refund)
            self._book.record(tx, payment.with_status(payment.status, amount_refunding=minor), None)
        return refund

    def _finish(self, refund: Refund, status: str, failure_code: str | None) -> Refund:
        merchant = self._merchants.get(refund.merchant_id)
        done = Refund(
            refund.id,
            refund.payment_id,
            refund.merchant_id,
            refund.amount,
            status,
            refund.fee_returned,
            failure_code,
            refund.created_at,
        )
        with self._db.transaction() as tx:
            payment = self._book.load(tx, refund.payment_id, lock=True)
            recorded = store.load_refund(tx, refund.id)
            if recorded is None or recorded.status != "pending":
                return recorded or done  # finished meanwhile (by the recovery sweep, or the request it resumed)
            refunded = payment.amount_refunded + (refund.amount.minor if status == "succeeded" else 0)
            self._book.record(
                tx,
                payment.with_status(payment.status, amount_refunded=refunded, amount_refunding=0),
                "payment.refunded" if status == "succeeded" else None,
            )
            store.finish_refund(tx, refund.id, status, failure_code)
            outbox.record(
                tx,
                type=f"refund.{status}",
                merchant_id=refund.merchant_id,
                object_id=refund.id,
                data=refund_json(done),
                created_at=self._clock(),
            )
            if status == "succeeded":
                assert payment.customer_id is not None
                self._receipts.issue(
                    tx,
                    kind="refund",
                    object_id=refund.id,
                    payment_id=payment.id,
                    merchant_id=payment.merchant_id,
                    merchant_name=merchant.name,
                    customer_id=payment.customer_id,
                    amount=refund.amount,
                    commission=Money(refund.fee_returned, refund.amount.currency),
                    issued_at=self._clock(),
                )
        return done
