"""Capturing, canceling and expiring authorised payments.

A capture takes at most what was authorised and books it in one entry with the commission split; whatever was
authorised and not taken is released. The ledger serialises a capture racing a cancel or the expiry sweep on the
purse hold itself (one of them finds it closed), and the issuer does the same for a card authorisation. A card
capture whose answer is lost is sent once more at once (the issuer answers a repeated advice the same); if that is
lost too, ``CaptureUnanswered`` leaves the payment authorised, to be captured again (``resume_stalled`` does it for
automatic captures). Recording
the outcome happens under the payment's row lock with its event and, for a capture, the signed receipt.

A capture the issuer refuses for good (it knows no such authorisation, or it is closed: reversed, lapsed, captured
otherwise) can never succeed, so retrying it would only keep the payment ``authorized`` for ever and the worker
asking again: the payment ends ``failed`` with the bank's code as ``failure_code`` (``payment.failed``), nothing
booked, nothing left to release at the issuer. The one exception is a capture whose entry is already in the ledger:
the issuer approved it before a crash and has since forgotten it, so the money was taken and the capture is recorded.
A refusal that may pass (no answer, an unreadable message, another code) leaves the payment authorised.
"""

from __future__ import annotations

import builtins
from datetime import datetime

from kleline.banks import AuthorizationClosed, BankError, BankNetwork, IssuerUnavailable, UnknownAuthorization
from kleline.clock import Clock, epoch_us
from kleline.db.engine import RawTx
from kleline.ledger import (
    EntryRequest,
    HoldNotPending,
    HoldStatus,
    InvalidEntry,
    Ledger,
    NormalSide,
    UnknownAccount,
)
from kleline.merchants.service import Merchants
from kleline.money import Money
from kleline.payments import postings, store
from kleline.payments.book import PaymentBook
from kleline.payments.checks import capture_amount
from kleline.payments.errors import AuthorizationExpired, CaptureFailed, CaptureUnanswered, PaymentStateConflict
from kleline.payments.model import OPEN_STATUSES, Payment, commission
from kleline.privacy.pseudonyms import Pseudonyms
from kleline.receipts.service import Receipts

__all__ = ["DEFINITIVE_REFUSALS", "Captures", "OwnAccounts", "capture_request", "issue_receipt"]

DEFINITIVE_REFUSALS: tuple[type[BankError], ...] = (UnknownAuthorization, AuthorizationClosed)
"""The issuer's answers after which no capture of the authorisation can ever succeed (25 unknown, 12 closed)."""


class OwnAccounts:
    """Kleline's own accounts a payment books to (commission, a card network's receivable), opened when first
    needed and remembered, so that the hot path does not ask the ledger each time."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._opened: set[str] = set()

    def ensure(self, code: str, side: NormalSide, currency: str) -> None:
        """Open ``code`` unless it exists."""
        if code in self._opened:
            return
        try:
            self._ledger.account(code)
        except UnknownAccount:
            self._ledger.open_account(code, currency, side)
        self._opened.add(code)


class Captures:
    """Capture, cancel and expire authorised payments."""

    def __init__(
        self,
        book: PaymentBook,
        ledger: Ledger,
        bank: BankNetwork,
        merchants: Merchants,
        receipts: Receipts,
        accounts: OwnAccounts,
    ) -> None:
        self._book = book
        self._db = book.db
        self._clock: Clock = book.clock
        self._ledger = ledger
        self._bank = bank
        self._merchants = merchants
        self._receipts = receipts
        self._accounts = accounts

    def capture(self, merchant_id: str, payment_id: str, amount: Money | None = None) -> Payment:
        """Take ``amount`` (all that was authorised by default) and book it with the commission split; whatever
        was authorised and not taken is released."""
        payment = self._book.of_merchant(merchant_id, payment_id)
        self._accounts.ensure(postings.COMMISSION_ACCOUNT, NormalSide.CREDIT, payment.currency)
        if payment.intro_fee_bps:
            self._accounts.ensure(postings.INTRODUCTIONS_ACCOUNT, NormalSide.CREDIT, payment.currency)
        if payment.card_network is not None:
            self._accounts.ensure(postings.receivable_account(payment.card_network), NormalSide.DEBIT, payment.currency)
        taken = payment.amount_authorized if amount is None else capture_amount(payment, amount)
        if payment.status == "succeeded" and payment.amount_captured == taken:
            return payment  # the same capture again: already done
        if payment.status != "authorized":
            raise PaymentStateConflict(f"payment {payment_id} is {payment.status}; only an authorized one captures")
        request = capture_request(payment, taken)
        if payment.method == "purse":
            try:
                self._ledger.commit(
                    postings.hold_id(payment.id),
                    postings=request.postings,
                    entry_id=request.id,
                    description=request.description,
                    metadata=request.metadata,
                )
            except HoldNotPending:
                return self._after_lost_race(payment_id, taken)
        else:
            assert payment.authorization_id is not None
            try:
                self._capture_at_issuer(payment.authorization_id, Money(taken, payment.currency))
            except BankError as error:
                current = self._book.get(payment_id)
                if current.status == "succeeded" and current.amount_captured == taken:
                    return current
                if isinstance(error, IssuerUnavailable):
                    raise CaptureUnanswered(f"the card issuer did not answer the capture: {error}") from None
                if isinstance(error, DEFINITIVE_REFUSALS):
                    return self._refused_for_good(merchant_id, payment_id, taken, error)
                raise CaptureFailed(f"the card issuer refused the capture: {error}") from None
            self._ledger.post(request)
        return self._captured(merchant_id, payment_id, taken)

    def _refused_for_good(self, merchant_id: str, payment_id: str, taken: int, error: BankError) -> Payment:
        """End a card payment whose capture the issuer will never accept: ``failed`` (``payment.failed``, the bank's
        code as ``failure_code``), unless its capture entry is booked (the issuer approved it before a crash)."""
        if self._posted(postings.capture_entry_id(payment_id)):
            return self._captured(merchant_id, payment_id, taken)

        def fail(current: Payment) -> tuple[Payment, str] | None:
            if current.status != "authorized":
                return None  # recorded otherwise meanwhile (captured by a concurrent request, canceled)
            return current.with_status("failed", failure_code=error.code), "payment.failed"

        return self._book.change(payment_id, fail)

    def _posted(self, entry_id: str) -> bool:
        try:
            self._ledger.entry(entry_id)
        except InvalidEntry:
            return False
        return True

    def _capture_at_issuer(self, authorization_id: str, amount: Money) -> None:
        try:
            self._bank.capture(authorization_id, amount)
        except IssuerUnavailable:
            self._bank.capture(authorization_id, amount)  # once more: a repeated advice is answered the same

    def _after_lost_race(self, payment_id: str, taken: int) -> Payment:
        current = self._book.get(payment_id)
        if current.status == "succeeded" and current.amount_captured == taken:
            return current
        if current.status == "authorized":
            hold = self._ledger.get_hold(postings.hold_id(payment_id))
            if hold.status is HoldStatus.COMMITTED:
                return self._captured(current.merchant_id, payment_id, taken)  # a crash after the commit: finish it
        raise AuthorizationExpired(f"payment {payment_id}'s authorisation was released before the capture")

    def _captured(self, merchant_id: str, payment_id: str, taken: int) -> Payment:
        merchant = self._merchants.get(merchant_id)
        with self._db.transaction() as tx:
            current = self._book.load(tx, payment_id, lock=True)
            if current.status == "succeeded":
                return current
            done = self._book.record(tx, current.with_status("succeeded", amount_captured=taken), "payment.succeeded")
            issue_receipt(self._receipts, tx, done, merchant.name, self._clock(), self._book.pseudonyms)
            return done

    def cancel(self, merchant_id: str, payment_id: str) -> Payment:
        """Give up a payment before capture: nothing was taken, an authorisation is released."""
        payment = self._book.of_merchant(merchant_id, payment_id)
        if payment.status == "canceled":
            return payment
        if payment.status in OPEN_STATUSES:

            def drop(current: Payment) -> tuple[Payment, str]:
                if current.status not in OPEN_STATUSES:
                    raise PaymentStateConflict(f"payment {payment_id} is {current.status} now")
                return current.with_status("canceled"), "payment.canceled"

            return self._book.change(payment_id, drop)
        if payment.status != "authorized":
            raise PaymentStateConflict(f"payment {payment_id} is {payment.status}; it cannot be canceled")
        return self._release(payment, "canceled", "payment.canceled")

    def expire_authorizations(self, limit: int = 100) -> builtins.list[str]:
        """The sweep: release every authorisation older than its lifetime and tell the merchant; the ids."""
        with self._db.transaction(write=False) as tx:
            due = store.due_authorizations(tx, epoch_us(self._clock()), limit)
        expired = []
        for payment_id in due:
            try:
                done = self._release(self._book.get(payment_id), "expired", "payment.expired")
            except PaymentStateConflict:
                continue  # captured or canceled meanwhile
            if done.status == "expired":
                expired.append(payment_id)
        return expired

    def _release(self, payment: Payment, status: str, event: str) -> Payment:
        if payment.method == "purse":
            try:
                self._ledger.void(postings.hold_id(payment.id))
            except HoldNotPending:
                hold = self._ledger.get_hold(postings.hold_id(payment.id))
                if hold.status is HoldStatus.COMMITTED:
                    raise PaymentStateConflict(f"payment {payment.id} was captured meanwhile") from None
        else:
            assert payment.authorization_id is not None
            try:
                self._bank.reverse(payment.authorization_id)
            except UnknownAuthorization:
                # The issuer holds nothing under it (never approved, or lapsed and forgotten): released already,
                # unless the capture was booked, which means the issuer took the money before forgetting it.
                if self._posted(postings.capture_entry_id(payment.id)):
                    raise PaymentStateConflict(f"payment {payment.id} was captured meanwhile") from None
            except BankError as error:
                raise PaymentStateConflict(f"the issuer refused to release the authorisation: {error}") from None

        def close(current: Payment) -> tuple[Payment, str]:
            if current.status != "authorized":
                raise PaymentStateConflict(f"payment {payment.id} is {current.status} now")
            return current.with_status(status), event

        return self._book.change(payment.id, close)


def capture_request(payment: Payment, amount: int) -> EntryRequest:
    """The entry that books a capture of ``amount``, under an id derived from the payment."""
    return EntryRequest(
        postings.capture_entry_id(payment.id),
        postings.capture_postings(payment, amount),
        "payment captured",
        {"payment": payment.id, "merchant": payment.merchant_id},
    )


def issue_receipt(
    receipts: Receipts, tx: RawTx, payment: Payment, merchant_name: str, issued_at: datetime, pseudonyms: Pseudonyms
) -> None:
    """Sign the payment's receipt in the caller's transaction: the parties, what was captured, the commission. The
    document names the customer by their pseudonym for the merchant, since the merchant may fetch it too."""
    assert payment.customer_id is not None
    receipts.issue(
        tx,
        kind="payment",
        object_id=payment.id,
        payment_id=payment.id,
        merchant_id=payment.merchant_id,
        merchant_name=merchant_name,
        customer_id=payment.customer_id,
        customer_ref=pseudonyms.of(payment.merchant_id, payment.customer_id),
        amount=Money(payment.amount_captured, payment.currency),
        commission=Money(commission(payment.amount_captured, 0, payment.fee_bps), payment.currency),
        issued_at=issued_at,
    )
