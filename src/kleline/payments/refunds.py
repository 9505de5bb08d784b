"""Refunds: partial and repeated, never above what was captured and not yet refunded.

Each refund returns the difference of the commission (and of the introduction fee, at its own rate) before and after
it (DESIGN.md section 2), so its split
depends on what was refunded before. A refund is therefore one transaction under the payment's row lock: the check
against what is left, the split, the ledger entry (``Ledger.post_in``, id = the refund's id), the payment's new
refunded amount, the refund row, its event and its receipt commit together or not at all. Concurrent refunds of one
payment queue on the lock, each seeing the one before it; no crash can leave one half-done.

The merchant's balance has a floor of zero: a merchant whose balance was already paid out cannot refund from
nothing. The refund then ends ``failed`` with ``insufficient_merchant_balance`` (recorded, with its event, in a
transaction of its own after the first rolled back), and the payment is unchanged.

A card payment's refund must also be credited by the card issuer, outside any transaction: the same transaction
then only reserves it, and ``payments.card_refunds`` asks the issuer and records it (or withdraws it when refused).
"""

from __future__ import annotations

import builtins

from kleline.banks import BankNetwork
from kleline.db.engine import RawTx
from kleline.errors import NotFound, ValidationError
from kleline.events import outbox
from kleline.ids import new_id
from kleline.ledger import EntryRequest, InsufficientFunds, Ledger
from kleline.merchants.service import Merchants
from kleline.money import Money
from kleline.payments import postings, store
from kleline.payments.book import PaymentBook
from kleline.payments.card_refunds import CardRefunds
from kleline.payments.errors import PaymentStateConflict, RefundTooLarge
from kleline.payments.model import Payment, Refund, refund_split
from kleline.payments.views import refund_json
from kleline.receipts.service import Receipts

__all__ = ["Refunds"]


class Refunds:
    """Refund captured payments, in part or in full."""

    def __init__(
        self, book: PaymentBook, ledger: Ledger, merchants: Merchants, receipts: Receipts, *, bank: BankNetwork
    ) -> None:
        self._book = book
        self._db = book.db
        self._clock = book.clock
        self._ledger = ledger
        self._merchants = merchants
        self._receipts = receipts
        self.cards = CardRefunds(book, ledger, bank, merchants, self._settle)

    def refund(self, merchant_id: str, payment_id: str, amount: Money | None = None) -> Refund:
        """Give back ``amount`` (everything still refundable by default) to where the payment came from; a card
        refund the issuer has not answered yet comes back ``pending``."""
        merchant = self._merchants.get(merchant_id)
        refund_id = new_id("re")
        try:
            with self._db.transaction() as tx:
                payment = self._book.load(tx, payment_id, lock=True)
                refund = self._check(payment, merchant_id, amount, refund_id)
                if payment.method == "card":
                    self.cards.reserve(tx, payment, refund)
                else:
                    self._ledger.post_in(tx, _entry(payment, refund))
                    self._settle(tx, payment, refund, merchant.name)
                    return refund
        except InsufficientFunds:
            return self._failed(merchant_id, payment_id, amount, refund_id)
        return self.cards.send(refund_id)

    def resume_card_refunds(self, limit: int = 100) -> builtins.list[str]:
        """The sweep: ask the card issuers again about refunds they have not answered; the ids settled."""
        return self.cards.resume(limit)

    def _settle(self, tx: RawTx, payment: Payment, refund: Refund, merchant_name: str) -> None:
        """Record a refund whose money moved, with the locked ``payment``: its new refunded amount, the refund,
        their events and the receipt."""
        refunded = payment.amount_refunded + refund.amount.minor
        self._book.record(tx, payment.with_status(payment.status, amount_refunded=refunded), "payment.refunded")
        self._record(tx, refund)
        assert payment.customer_id is not None  # a captured payment always has its customer
        self._receipts.issue(
            tx,
            kind="refund",
            object_id=refund.id,
            payment_id=payment.id,
            merchant_id=payment.merchant_id,
            merchant_name=merchant_name,
            customer_id=payment.customer_id,
            customer_ref=self._book.pseudonyms.of(payment.merchant_id, payment.customer_id),
            amount=refund.amount,
            commission=Money(refund.fee_returned, refund.amount.currency),
            issued_at=refund.created_at,
        )

    def get(self, refund_id: str) -> Refund:
        """A refund, whoever asks (callers check who may see it)."""
        with self._db.transaction(write=False) as tx:
            refund = store.load_refund(tx, refund_id)
        if refund is None:
            refund = self.cards.get(refund_id)
        if refund is None:
            raise NotFound(f"no refund {refund_id}", param="id")
        return refund

    def list(
        self, *, payment_id: str | None = None, merchant_id: str | None = None, limit: int = 20
    ) -> builtins.list[Refund]:
        """Refunds newest first, of a payment or a merchant."""
        with self._db.transaction(write=False) as tx:
            return store.list_refunds(tx, payment_id=payment_id, merchant_id=merchant_id, limit=limit)

    def _check(self, payment: Payment, merchant_id: str, amount: Money | None, refund_id: str) -> Refund:
        """The refund this request asks for, checked against the locked payment, with its commission split."""
        if payment.merchant_id != merchant_id:
            raise NotFound(f"no payment {payment.id}", param="payment_id")
        if payment.status != "succeeded":
            raise PaymentStateConflict(f"payment {payment.id} is {payment.status}; only a captured one refunds")
        if amount is not None and amount.currency != payment.currency:
            raise ValidationError(f"the payment is in {payment.currency}, not {amount.currency}", param="currency")
        left = payment.refundable
        if left == 0:
            raise RefundTooLarge(f"payment {payment.id} is already refunded in full", param="amount")
        minor = left if amount is None else amount.minor
        if minor <= 0:
            raise ValidationError("amount must be a positive number of minor units", param="amount")
        if minor > left:
            raise RefundTooLarge(f"refund of {minor} is above the {left} still refundable", param="amount")
        split = refund_split(
            payment.amount_captured, payment.amount_refunded, minor, payment.fee_bps, payment.intro_fee_bps
        )
        return Refund(
            id=refund_id,
            payment_id=payment.id,
            merchant_id=payment.merchant_id,
            amount=Money(minor, payment.currency),
            status="succeeded",
            fee_returned=split.fee_returned,
            failure_code=None,
            created_at=self._clock(),
            intro_fee_returned=split.intro_fee_returned,
        )

    def _failed(self, merchant_id: str, payment_id: str, amount: Money | None, refund_id: str) -> Refund:
        """Record a refund the merchant's balance could not cover; the payment stays as it was."""
        with self._db.transaction() as tx:
            payment = self._book.load(tx, payment_id, lock=True)
            checked = self._check(payment, merchant_id, amount, refund_id)
            refund = Refund(
                checked.id,
                checked.payment_id,
                checked.merchant_id,
                checked.amount,
                "failed",
                0,
                "insufficient_merchant_balance",
                checked.created_at,
            )
            self._record(tx, refund)
            return refund

    def _record(self, tx: RawTx, refund: Refund) -> None:
        store.insert_refund(tx, refund)
        outbox.record(
            tx,
            type=f"refund.{refund.status}",
            merchant_id=refund.merchant_id,
            object_id=refund.id,
            data=refund_json(refund),
            created_at=refund.created_at,
        )


def _entry(payment: Payment, refund: Refund) -> EntryRequest:
    split = refund_split(
        payment.amount_captured, payment.amount_refunded, refund.amount.minor, payment.fee_bps, payment.intro_fee_bps
    )
    return EntryRequest(
        refund.id,
        postings.refund_postings(payment, split),
        "payment refunded",
        {"payment": payment.id, "refund": refund.id, "merchant": payment.merchant_id},
    )
