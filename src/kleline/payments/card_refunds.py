"""Refunds of card payments: reserved in the books, credited by the issuer, then recorded.

A card refund gives money back through the card network, which no database transaction can span, and whose answer
may be lost. So it goes in three steps, each safe to repeat:

1. **Reserve**, in the refund's transaction under the payment's row lock (``reserve``): the checks, then a ledger
   hold on the merchant's share and the commission returned (so that no payout or other refund spends them
   meanwhile; a balance that cannot cover it fails the refund before the issuer hears of it), and a row in
   ``card_refunds``. One refund per payment may wait there at a time: each refund's commission split depends on what
   was refunded before it.
2. **Ask the issuer** (``send``), outside any transaction, with the refund's id as its reference: the issuer credits
   a reference once, and answers a repeat with its first answer.
3. **Record**: the hold committed as the refund's entry (entry id = refund id), then, under the payment's row lock,
   the payment's refunded amount, the refund, its events and its receipt (``settle``, shared with purse refunds).

A refusal withdraws the reservation (hold voided, row deleted) and raises ``RefundFailed``: nothing is recorded. No
answer leaves the refund ``pending``, as the caller is told; the worker's ``payments.resume_card_refunds`` sweep asks
again later with the same reference, and records it when the issuer answers. A crash anywhere leaves the row, and
the same sweep finishes the refund exactly once.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final

from kleline.banks import BankError, BankNetwork, IssuerUnavailable
from kleline.clock import epoch_us, from_epoch_us
from kleline.db.engine import RawTx
from kleline.ledger import EntryRequest, HoldNotPending, HoldRequest, HoldStatus, Ledger, Posting
from kleline.merchants.service import Merchants
from kleline.money import Money
from kleline.payments import postings, store
from kleline.payments.book import PaymentBook
from kleline.payments.errors import PaymentStateConflict, RefundFailed
from kleline.payments.model import Payment, Refund, RefundSplit

__all__ = ["HOLD_LIFETIME", "CardRefunds", "Settle"]

HOLD_LIFETIME: Final = timedelta(days=30)
"""How long the merchant's share stays reserved while the issuer does not answer; far beyond any outage."""

Settle = Callable[[RawTx, Payment, Refund, str], None]
"""Records a refund whose money moved: the payment's refunded amount, the refund, its events, its receipt."""

_COLUMNS: Final = (
    "id, payment_id, merchant_id, amount, currency, fee_returned, created_at, attempts, intro_fee_returned"
)


class CardRefunds:
    """Card refunds between their reservation and the issuer's answer."""

    def __init__(
        self,
        book: PaymentBook,
        ledger: Ledger,
        bank: BankNetwork,
        merchants: Merchants,
        settle: Settle,
        *,
        first_retry: timedelta = timedelta(seconds=30),
        max_delay: timedelta = timedelta(hours=1),
    ) -> None:
        self._book = book
        self._db = book.db
        self._clock = book.clock
        self._ledger = ledger
        self._bank = bank
        self._merchants = merchants
        self._settle = settle
        self._first_retry = first_retry
        self._max_delay = max_delay

    def reserve(self, tx: RawTx, payment: Payment, refund: Refund) -> None:
        """Step 1, in the caller's transaction with the payment locked: hold the refund's entry and note it as
        waiting (``InsufficientFunds`` when the merchant's balance cannot cover its share)."""
        if tx.fetchone("SELECT id FROM card_refunds WHERE payment_id = :payment", {"payment": payment.id}):
            raise PaymentStateConflict(
                f"a refund of payment {payment.id} is waiting for the card issuer's answer: try again once it is "
                "recorded"
            )
        self._ledger.hold_in(
            tx,
            HoldRequest(
                _hold_id(refund.id),
                _postings(payment, refund),
                refund.created_at + HOLD_LIFETIME,
                "card refund awaiting the issuer",
                {"payment": payment.id, "refund": refund.id, "merchant": payment.merchant_id},
            ),
        )
        tx.execute(
            f"INSERT INTO card_refunds ({_COLUMNS}, next_attempt_at) VALUES (:id, :payment, :merchant, :amount, "
            ":currency, :fee, :at, 0, :intro_fee, :next)",
            {
                "id": refund.id,
                "payment": payment.id,
                "merchant": payment.merchant_id,
                "amount": refund.amount.minor,
                "currency": refund.amount.currency,
                "fee": refund.fee_returned,
                "intro_fee": refund.intro_fee_returned,
                "at": epoch_us(refund.created_at),
                "next": epoch_us(refund.created_at + self._first_retry),
            },
        )

    def send(self, refund_id: str) -> Refund:
        """Steps 2 and 3: the issuer credits the cardholder, then the refund is recorded; ``pending`` when the
        issuer did not answer; ``RefundFailed`` when it refused."""
        waiting = self._waiting(refund_id)
        if waiting is None:
            return self._recorded(refund_id)
        payment = self._book.get(waiting.payment_id)
        assert payment.authorization_id is not None  # a captured card payment has its authorisation
        try:
            self._bank.refund(payment.authorization_id, waiting.amount, reference=waiting.id)
        except IssuerUnavailable as error:
            self._note_failure(waiting.id, error.code)
            return waiting
        except BankError as error:
            self._withdraw(waiting)
            raise RefundFailed(f"the card issuer refused the refund: {error.detail}") from None
        return self._record(payment, waiting)

    def get(self, refund_id: str) -> Refund | None:
        """A refund still waiting for the issuer (``pending``), or None."""
        return self._waiting(refund_id)

    def resume(self, limit: int = 100) -> builtins.list[str]:
        """The sweep: ask the issuer again about every waiting refund that is due; the ids it settled."""
        now = self._clock()
        with self._db.transaction(write=False) as tx:
            due = tx.fetchall(
                "SELECT id, attempts FROM card_refunds WHERE next_attempt_at <= :now ORDER BY next_attempt_at, id "
                "LIMIT :limit",
                {"now": epoch_us(now), "limit": limit},
            )
        settled = []
        for refund_id, attempts in due:
            if not self._claim(refund_id, int(attempts), now):
                continue  # another worker has it
            try:
                refund = self.send(refund_id)
            except RefundFailed:
                settled.append(refund_id)
                continue
            if refund.status != "pending":
                settled.append(refund_id)
        return settled

    def _record(self, payment: Payment, refund: Refund) -> Refund:
        request = EntryRequest(
            refund.id,
            _postings(payment, refund),
            "payment refunded",
            {"payment": payment.id, "refund": refund.id, "merchant": payment.merchant_id},
        )
        try:
            self._ledger.commit(
                _hold_id(refund.id), entry_id=request.id, description=request.description, metadata=request.metadata
            )
        except HoldNotPending:
            if self._ledger.get_hold(_hold_id(refund.id)).status is not HoldStatus.EXPIRED:
                raise
            self._ledger.post(request)  # the issuer answered after the reservation lapsed: post it without
        done = replace(refund, status="succeeded")
        merchant_name = self._merchants.get(refund.merchant_id).name
        with self._db.transaction() as tx:
            current = self._book.load(tx, refund.payment_id, lock=True)
            if store.load_refund(tx, refund.id) is None:
                self._settle(tx, current, done, merchant_name)
            tx.execute("DELETE FROM card_refunds WHERE id = :id", {"id": refund.id})
        return done

    def _withdraw(self, refund: Refund) -> None:
        hold = self._ledger.get_hold(_hold_id(refund.id))
        if hold.status is HoldStatus.PENDING:
            try:
                self._ledger.void(hold.id)
            except HoldNotPending:
                pass  # expired meanwhile: released all the same
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM card_refunds WHERE id = :id", {"id": refund.id})

    def _recorded(self, refund_id: str) -> Refund:
        with self._db.transaction(write=False) as tx:
            refund = store.load_refund(tx, refund_id)
        if refund is None:
            raise RefundFailed(f"refund {refund_id} was refused by the card issuer")
        return refund

    def _waiting(self, refund_id: str) -> Refund | None:
        with self._db.transaction(write=False) as tx:
            row = tx.fetchone(f"SELECT {_COLUMNS} FROM card_refunds WHERE id = :id", {"id": refund_id})
        return None if row is None else _pending(row)

    def _claim(self, refund_id: str, attempts: int, now: datetime) -> bool:
        delay = min(self._first_retry * 2**attempts, self._max_delay)
        with self._db.transaction() as tx:
            cursor = tx.execute(
                "UPDATE card_refunds SET attempts = attempts + 1, next_attempt_at = :next "
                "WHERE id = :id AND attempts = :attempts",
                {"next": epoch_us(now + delay), "id": refund_id, "attempts": attempts},
            )
            return int(cursor.rowcount) == 1

    def _note_failure(self, refund_id: str, error: str) -> None:
        with self._db.transaction() as tx:
            tx.execute("UPDATE card_refunds SET last_error = :error WHERE id = :id", {"error": error, "id": refund_id})


def _hold_id(refund_id: str) -> str:
    return f"{refund_id}:hold"


def _postings(payment: Payment, refund: Refund) -> tuple[Posting, ...]:
    return postings.refund_postings(
        payment, RefundSplit(refund.amount.minor, refund.fee_returned, refund.intro_fee_returned)
    )


def _pending(row: Any) -> Refund:
    return Refund(
        id=row[0],
        payment_id=row[1],
        merchant_id=row[2],
        amount=Money(int(row[3]), row[4]),
        status="pending",
        fee_returned=int(row[5]),
        failure_code=None,
        created_at=from_epoch_us(int(row[6])),
        intro_fee_returned=int(row[8]),
    )
