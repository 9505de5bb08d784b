"""Payments, from the merchant's request to the authorisation: one method per use case (capture, cancel and
expiry are ``payments.capture``'s, refunds ``payments.refunds``').

How each step stays exact when requests race or a process dies half-way:
- **A purse payment** is one transaction: under the payment's and the customer's row locks, the exemption
  decision, the hold (manual capture) or the capture entry (automatic), the new state, its events and the receipt
  commit together or not at all.
- **A card payment** talks to an issuer, which no transaction can span: the payment is first *claimed*
  (``processing``, in one short transaction), then authorised, then the outcome recorded. A second confirmation
  finds it claimed and is refused; a process that dies in between leaves it ``processing``, and the worker's
  ``resume_stalled`` carries it on under the same issuer reference (the issuer answers a repeat with its first
  answer) and the same ledger ids.
- **State changes** are written under the payment's row lock, with the event that announces them (outbox).
- **An issuer that does not answer** an authorisation fails the payment (``issuer_unavailable``) once the network
  has reversed whatever the issuer may hold; an unanswered automatic capture leaves the payment authorised, and
  ``resume_stalled`` captures it later.
- **Strong authentication** is decided under the customer's row lock (``StrongAuth.decide``), as for top-ups;
  an issuer that answers 1A (authentication required) gets the same challenge, then an authenticated attempt.

All of them share ``payments.book.PaymentBook`` for loading and recording.
"""

from __future__ import annotations

import builtins
from datetime import timedelta

from kleline.banks import BankNetwork, CardDetails, IssuerUnavailable
from kleline.banks.declines import decline_code
from kleline.clock import epoch_us
from kleline.db.engine import RawTx
from kleline.errors import NotFound, ValidationError
from kleline.ids import new_id
from kleline.ledger import (
    HoldRequest,
    InsufficientFunds,
    Ledger,
    NormalSide,
)
from kleline.merchants.service import Merchants
from kleline.money import Money
from kleline.payments import postings, store
from kleline.payments.book import PaymentBook
from kleline.payments.capture import Captures, OwnAccounts, capture_request, issue_receipt
from kleline.payments.checks import check_open, check_request, unclaimed
from kleline.payments.errors import CaptureFailed, CaptureUnanswered, PaymentStateConflict
from kleline.payments.model import METHODS, OPEN_STATUSES, Payment, PaymentRequest
from kleline.receipts.service import Receipts
from kleline.wallet import sca_store
from kleline.wallet.cards import parse_card_number
from kleline.wallet.strong_auth import EnrolmentRequired, StrongAuth
from kleline.wallet.top_ups import CardSource

__all__ = ["Payments"]


class Payments:
    """Create, confirm, capture, cancel and expire payments."""

    def __init__(
        self,
        book: PaymentBook,
        ledger: Ledger,
        bank: BankNetwork,
        cards: CardSource,
        strong_auth: StrongAuth,
        merchants: Merchants,
        receipts: Receipts,
        *,
        authorization_ttl: timedelta,
    ) -> None:
        self.book = book
        self._db = book.db
        self._clock = book.clock
        self._ledger = ledger
        self._bank = bank
        self._cards = cards
        self._auth = strong_auth
        self._merchants = merchants
        self._receipts = receipts
        self._ttl = authorization_ttl
        self._accounts = OwnAccounts(ledger)
        self._captures = Captures(book, ledger, bank, merchants, receipts, self._accounts)

    # --- creation and reading ---------------------------------------------------------------------------------

    def create(self, merchant_id: str, request: PaymentRequest) -> Payment:
        """A new payment waiting for its customer, with the merchant's commission rate frozen in it."""
        merchant = self._merchants.require_active(merchant_id)
        check_request(request)
        payment = Payment(
            id=new_id("pay"),
            merchant_id=merchant_id,
            customer_id=None,
            amount=request.amount,
            status="requires_confirmation",
            method=None,
            amount_authorized=0,
            amount_captured=0,
            amount_refunded=0,
            fee_bps=merchant.fee_bps,
            description=request.description,
            reference=request.reference,
            capture_method=request.capture_method,
            return_url=request.return_url,
            failure_code=None,
            created_at=self._clock(),
            checkout_url="",
        )
        payment = payment.with_status(payment.status, checkout_url=self.book.checkout_url(payment.id))
        with self._db.transaction() as tx:
            store.insert_payment(tx, payment)
        return payment

    def get(self, payment_id: str) -> Payment:
        """A payment, whoever asks (callers check who may see it)."""
        return self.book.get(payment_id)

    def list(
        self,
        *,
        merchant_id: str | None = None,
        customer_id: str | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> tuple[builtins.list[Payment], bool]:
        """A page of payments, newest first, and whether more follow."""
        with self._db.transaction(write=False) as tx:
            found = store.list_payments(
                tx,
                self.book.checkout_base,
                merchant_id=merchant_id,
                customer_id=customer_id,
                limit=limit + 1,
                after=after,
            )
        return found[:limit], len(found) > limit

    def pending_balance(self, merchant_id: str) -> int:
        """What the merchant's authorised, not yet captured, payments add up to."""
        with self._db.transaction(write=False) as tx:
            return store.authorized_total(tx, merchant_id)

    # --- confirmation -----------------------------------------------------------------------------------------

    def confirm(
        self,
        payment_id: str,
        customer_id: str,
        method: str,
        card_id: str | None = None,
        sca_code: str | None = None,
    ) -> Payment:
        """The customer pays: strong authentication when due, then a purse hold or a card authorisation, then
        the capture when the payment captures automatically."""
        if method not in METHODS:
            raise ValidationError(f"method must be one of {', '.join(METHODS)}", param="method")
        if method == "card" and not card_id:
            raise ValidationError("a card payment names the wallet's card_id", param="card_id")
        if method == "purse":
            card_id = None
        payment = self.book.get(payment_id)
        check_open(payment, customer_id)
        merchant = self._merchants.require_active(payment.merchant_id)
        card = self._cards.card_details(customer_id, card_id) if card_id is not None else None
        challenged = False
        if sca_code is not None:
            if payment.status != "requires_action" or payment.challenge_id is None:
                raise ValidationError("no strong authentication is pending for this payment", param="sca_code")
            self._auth.pass_challenge(customer_id, payment.challenge_id, sca_code, payment.amount, payment.merchant_id)
            challenged = True
        if method == "purse":
            paid = self._pay_from_purse(payment, customer_id, challenged, merchant.name)
            if paid is None:
                return self._ask_for_authentication(payment.id, customer_id, method, None, OPEN_STATUSES)
            return paid
        if not self._claim(payment.id, customer_id, method, card_id, challenged):
            return self._ask_for_authentication(payment.id, customer_id, method, card_id, OPEN_STATUSES)
        assert card is not None
        authorized = self._authorize_claimed(self.book.get(payment.id), card)
        if authorized.status == "authorized" and authorized.capture_method == "automatic":
            return self._capture_automatically(authorized)
        return authorized

    def _capture_automatically(self, payment: Payment) -> Payment:
        try:
            return self.capture(payment.merchant_id, payment.id)
        except CaptureUnanswered:
            return self.book.get(payment.id)  # authorised, and captured later by resume_stalled

    def _ask_for_authentication(
        self, payment_id: str, customer_id: str, method: str, card_id: str | None, since: tuple[str, ...]
    ) -> Payment:
        """Stop the payment at ``requires_action`` with a challenge bound to its amount and merchant."""
        payment = self.book.get(payment_id)
        try:
            challenge = self._auth.issue(customer_id, payment.amount, payment.merchant_id)
        except EnrolmentRequired:
            if payment.status == "processing":
                # The issuer asked for authentication the customer cannot give: free the payment for another way.
                self.book.change(payment_id, unclaimed)
            raise

        def ask(current: Payment) -> tuple[Payment, str | None]:
            if current.status not in since:
                raise PaymentStateConflict(f"payment {payment_id} is {current.status} now")
            if current.status in OPEN_STATUSES:
                check_open(current, customer_id)
            changed = current.with_status(
                "requires_action", customer_id=customer_id, method=method, card_id=card_id, challenge_id=challenge.id
            )
            return changed, None

        return self.book.change(payment_id, ask)

    def _authorize_claimed(self, payment: Payment, card: CardDetails) -> Payment:
        """Authorise a claimed card payment at the issuer, which may ask for strong authentication first (answer
        1A, a soft decline)."""
        assert payment.customer_id is not None
        authenticated = payment.challenge_id is not None
        # A new attempt after authentication is a new authorisation at the issuer, with its own reference.
        reference = f"{payment.id}:sca" if authenticated else payment.id
        try:
            answer = self._bank.authorize(card, payment.amount, reference=reference, authenticated=authenticated)
        except IssuerUnavailable:
            # Whatever the issuer may hold for it is reversed (or queued to be) by the network.
            return self._fail(payment.id, "issuer_unavailable")
        if answer.requires_sca and not authenticated:
            return self._ask_for_authentication(
                payment.id, payment.customer_id, "card", payment.card_id, ("processing",)
            )
        if not answer.approved:
            return self._fail(payment.id, decline_code(answer.code))
        network = parse_card_number(card.number).brand.value
        return self._authorized(payment.id, answer.authorization_id, network)

    def _claim(self, payment_id: str, customer_id: str, method: str, card_id: str | None, challenged: bool) -> bool:
        """Take the payment for this customer (``processing``) unless a challenge must come first (False)."""
        with self._db.transaction() as tx:
            payment = self.book.load(tx, payment_id, lock=True)
            check_open(payment, customer_id)
            if not challenged and not self._exempt(tx, customer_id, payment.amount):
                return False
            self.book.record(
                tx,
                payment.with_status(
                    "processing",
                    customer_id=customer_id,
                    method=method,
                    card_id=card_id,
                    failure_code=None,
                    # Kept only when the challenge was just passed: it marks the authorisation as authenticated.
                    challenge_id=payment.challenge_id if challenged else None,
                ),
                None,
            )
        return True

    def _exempt(self, tx: RawTx, customer_id: str, amount: Money) -> bool:
        """Under the customer's row lock: may this payment skip strong authentication (counted if so)?"""
        locked = sca_store.lock_customer(tx, customer_id, self._auth.policy.currency)
        if locked is None:
            raise NotFound("no such customer")
        return self._auth.decide(tx, customer_id, locked[2], amount).exempt

    def _pay_from_purse(
        self, payment: Payment, customer_id: str, challenged: bool, merchant_name: str
    ) -> Payment | None:
        """The purse pays in one transaction: the exemption decision, the hold (manual capture) or the capture
        entry (automatic), the new state, its events and the receipt commit together or not at all, so no crash
        can leave a purse payment half-done. None when a challenge must come first."""
        self._accounts.ensure(postings.COMMISSION_ACCOUNT, NormalSide.CREDIT, payment.currency)
        now = self._clock()
        try:
            with self._db.transaction() as tx:
                current = self.book.load(tx, payment.id, lock=True)
                check_open(current, customer_id)
                if not challenged and not self._exempt(tx, customer_id, current.amount):
                    return None
                amount = current.amount.minor
                authorized = current.with_status(
                    "authorized",
                    customer_id=customer_id,
                    method="purse",
                    card_id=None,
                    challenge_id=current.challenge_id if challenged else None,
                    failure_code=None,
                    amount_authorized=amount,
                    authorized_at=now,
                    expires_at=now + self._ttl,
                )
                if current.capture_method == "manual":
                    self._ledger.hold_in(tx, self._purse_hold(authorized))
                    return self.book.record(tx, authorized, "payment.authorized")
                self._ledger.post_in(tx, capture_request(authorized, amount))
                self.book.announce(tx, authorized, "payment.authorized")
                done = authorized.with_status("succeeded", amount_captured=amount)
                self.book.record(tx, done, "payment.succeeded")
                issue_receipt(self._receipts, tx, done, merchant_name, now)
                return done
        except InsufficientFunds:
            return self._fail_open(payment.id, customer_id, "insufficient_funds")

    def _purse_hold(self, payment: Payment) -> HoldRequest:
        assert payment.expires_at is not None
        return HoldRequest(
            postings.hold_id(payment.id),
            postings.capture_postings(payment, payment.amount.minor),
            # The hold outlives the authorisation by a day, so that the payments sweep (which also tells the
            # merchant) releases it rather than the ledger's own expiry.
            payment.expires_at + timedelta(days=1),
            "purse payment authorised",
            {"payment": payment.id, "merchant": payment.merchant_id},
        )

    def _fail_open(self, payment_id: str, customer_id: str, failure_code: str) -> Payment:
        """A purse payment the purse cannot cover fails, and the merchant is told."""

        def fail(current: Payment) -> tuple[Payment, str]:
            check_open(current, customer_id)
            failed = current.with_status("failed", customer_id=customer_id, method="purse", failure_code=failure_code)
            return failed, "payment.failed"

        return self.book.change(payment_id, fail)

    def _authorized(self, payment_id: str, authorization_id: str | None, network: str | None) -> Payment:
        now = self._clock()

        def authorize(current: Payment) -> tuple[Payment, str] | None:
            if current.status != "processing":
                return None  # already recorded (a resumed confirmation meeting the original)
            return (
                current.with_status(
                    "authorized",
                    amount_authorized=current.amount.minor,
                    authorization_id=authorization_id,
                    card_network=network,
                    authorized_at=now,
                    expires_at=now + self._ttl,
                ),
                "payment.authorized",
            )

        return self.book.change(payment_id, authorize)

    def _fail(self, payment_id: str, failure_code: str) -> Payment:
        def fail(current: Payment) -> tuple[Payment, str] | None:
            if current.status != "processing":
                return None
            return current.with_status("failed", failure_code=failure_code), "payment.failed"

        return self.book.change(payment_id, fail)

    # --- recovery ---------------------------------------------------------------------------------------------

    def resume_stalled(self, older_than: timedelta, limit: int = 100) -> builtins.list[str]:
        """The sweep: finish payments a crash left half-way (claimed, or authorised for an automatic capture that
        never ran), as the interrupted request would have; their ids."""
        with self._db.transaction(write=False) as tx:
            due = store.stalled_payments(tx, epoch_us(self._clock() - older_than), limit)
        for payment_id in due:
            try:
                self.resume(payment_id)
            except PaymentStateConflict:
                continue  # finished meanwhile by someone else
            except CaptureFailed:
                continue  # the issuer refused or did not answer: still authorised, tried again next time
        return due

    def resume(self, payment_id: str) -> Payment:
        """Carry one stalled payment on: authorise it (the ledger and the issuer answer a repeated request with
        the first answer), then capture it when it captures automatically."""
        payment = self.book.get(payment_id)
        if payment.status == "processing":
            payment = self._authorize_again(payment)
        if payment.status == "authorized" and payment.capture_method == "automatic":
            return self._capture_automatically(payment)
        return payment

    def _authorize_again(self, payment: Payment) -> Payment:
        assert payment.customer_id is not None
        if payment.method == "purse":
            # Purse payments are authorised in the transaction that claims them, so none is ever left claimed.
            return self._fail(payment.id, "interrupted")
        assert payment.card_id is not None
        try:
            card = self._cards.card_details(payment.customer_id, payment.card_id)
        except NotFound:
            return self._fail(payment.id, "card_removed")
        return self._authorize_claimed(payment, card)

    # --- capture, cancel, expiry (payments.capture) ------------------------------------------------------------

    def capture(self, merchant_id: str, payment_id: str, amount: Money | None = None) -> Payment:
        """Take ``amount`` (all that was authorised by default) and book it with the commission split; whatever
        was authorised and not taken is released."""
        return self._captures.capture(merchant_id, payment_id, amount)

    def cancel(self, merchant_id: str, payment_id: str) -> Payment:
        """Give up a payment before capture: nothing was taken, an authorisation is released."""
        return self._captures.cancel(merchant_id, payment_id)

    def expire_authorizations(self, limit: int = 100) -> builtins.list[str]:
        """The sweep: release every authorisation older than its lifetime and tell the merchant; the ids."""
        return self._captures.expire_authorizations(limit)
