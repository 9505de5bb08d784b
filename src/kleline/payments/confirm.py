"""Confirming a payment: the customer pays by purse or by card, up to the authorisation (and the automatic capture).

How each step stays exact when requests race or a process dies half-way:
- **A purse payment** is one transaction: under the payment's and the customer's row locks, the exemption
  decision, the hold (manual capture) or the capture entry (automatic), the new state, its events and the receipt
  commit together or not at all.
- **A card payment** talks to an issuer, which no transaction can span: the payment is first *claimed*
  (``processing``, in one short transaction), then authorised, then the outcome recorded. A second confirmation
  finds it claimed and is refused; a process that dies in between leaves it ``processing``, and
  ``payments.recovery`` carries it on under the same issuer reference (the issuer answers a repeat with its first
  answer) and the same ledger ids, through ``authorize_claimed`` here.
- **An issuer that does not answer** an authorisation fails the payment (``issuer_unavailable``) once the network
  has reversed whatever the issuer may hold; an unanswered automatic capture leaves the payment authorised, and
  ``payments.recovery`` captures it later.
- **Strong authentication** is decided under the customer's row lock (``StrongAuth.decide``), as for top-ups;
  an issuer that answers 1A (authentication required) gets the same challenge, then an authenticated attempt.

- **An introduced customer** (issue 15): when the customer becomes known (the purse payment's transaction, or the
  card payment's claim), one indexed query finds whether an offer of the merchant introduced them in the last
  ``INTRODUCTION_WINDOW`` (``payments.introductions``); if so, the payment carries the merchant's introduction fee
  rate as it stands then, and the offer's id, for the rest of its life.

State changes go through ``payments.book.PaymentBook`` (under the payment's row lock, with their event).
"""

from __future__ import annotations

from datetime import timedelta

from kleline.banks import BankNetwork, CardDetails, IssuerUnavailable
from kleline.banks.declines import decline_code
from kleline.db.engine import RawTx
from kleline.errors import NotFound, ValidationError
from kleline.ledger import HoldRequest, InsufficientFunds, Ledger, NormalSide
from kleline.merchants.service import Merchants
from kleline.money import Money
from kleline.payments import postings
from kleline.payments.book import PaymentBook
from kleline.payments.capture import Captures, OwnAccounts, capture_request, issue_receipt
from kleline.payments.checks import check_open, unclaimed
from kleline.payments.errors import CaptureUnanswered, PaymentStateConflict
from kleline.payments.introductions import introduced
from kleline.payments.model import METHODS, OPEN_STATUSES, Payment
from kleline.receipts.service import Receipts
from kleline.wallet import sca_store
from kleline.wallet.cards import parse_card_number
from kleline.wallet.passkey import PasskeyProof
from kleline.wallet.strong_auth import EnrolmentRequired, StrongAuth
from kleline.wallet.top_ups import CardSource

__all__ = ["Confirmations"]


class Confirmations:
    """Confirm payments by purse or card, up to the authorisation and, when automatic, the capture."""

    def __init__(
        self,
        book: PaymentBook,
        ledger: Ledger,
        bank: BankNetwork,
        cards: CardSource,
        strong_auth: StrongAuth,
        merchants: Merchants,
        receipts: Receipts,
        accounts: OwnAccounts,
        captures: Captures,
        *,
        authorization_ttl: timedelta,
    ) -> None:
        self._book = book
        self._db = book.db
        self._clock = book.clock
        self._ledger = ledger
        self._bank = bank
        self._cards = cards
        self._auth = strong_auth
        self._merchants = merchants
        self._receipts = receipts
        self._accounts = accounts
        self._captures = captures
        self._ttl = authorization_ttl

    def confirm(
        self,
        payment_id: str,
        customer_id: str,
        method: str,
        card_id: str | None = None,
        sca_code: str | None = None,
        passkey: PasskeyProof | None = None,
    ) -> Payment:
        """The customer pays: strong authentication when due (a code, or a passkey's response), then a purse hold
        or a card authorisation, then the capture when the payment captures automatically."""
        if method not in METHODS:
            raise ValidationError(f"method must be one of {', '.join(METHODS)}", param="method")
        if method == "card" and not card_id:
            raise ValidationError("a card payment names the wallet's card_id", param="card_id")
        if method == "purse":
            card_id = None
        payment = self._book.get(payment_id)
        check_open(payment, customer_id)
        merchant = self._merchants.require_active(payment.merchant_id)
        card = self._cards.card_details(customer_id, card_id) if card_id is not None else None
        challenged = False
        if sca_code is not None or passkey is not None:
            if payment.status != "requires_action" or payment.challenge_id is None:
                param = "sca_code" if sca_code is not None else "passkey"
                raise ValidationError("no strong authentication is pending for this payment", param=param)
            proof: str | PasskeyProof = passkey if passkey is not None else str(sca_code)
            self._auth.pass_proof(customer_id, payment.challenge_id, proof, payment.amount, payment.merchant_id)
            challenged = True
        if method == "purse":
            paid = self._pay_from_purse(payment, customer_id, challenged, merchant.name)
            if paid is None:
                return self._ask_for_authentication(payment.id, customer_id, method, None, OPEN_STATUSES)
            return paid
        if not self._claim(payment.id, customer_id, method, card_id, challenged):
            return self._ask_for_authentication(payment.id, customer_id, method, card_id, OPEN_STATUSES)
        assert card is not None
        authorized = self.authorize_claimed(self._book.get(payment.id), card)
        if authorized.status == "authorized" and authorized.capture_method == "automatic":
            return self.capture_automatically(authorized)
        return authorized

    def capture_automatically(self, payment: Payment) -> Payment:
        """Capture an authorised automatic-capture payment now; an unanswered capture leaves it authorised."""
        try:
            return self._captures.capture(payment.merchant_id, payment.id)
        except CaptureUnanswered:
            return self._book.get(payment.id)  # authorised, and captured later by resume_stalled

    def authorize_claimed(self, payment: Payment, card: CardDetails) -> Payment:
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
            return self.fail_claimed(payment.id, "issuer_unavailable")
        if answer.requires_sca and not authenticated:
            return self._ask_for_authentication(
                payment.id, payment.customer_id, "card", payment.card_id, ("processing",)
            )
        if not answer.approved:
            return self.fail_claimed(payment.id, decline_code(answer.code))
        network = parse_card_number(card.number).brand.value
        return self._authorized(payment.id, answer.authorization_id, network)

    def fail_claimed(self, payment_id: str, failure_code: str) -> Payment:
        """Fail a claimed (``processing``) payment; one already recorded otherwise is left as it is."""

        def fail(current: Payment) -> tuple[Payment, str] | None:
            if current.status != "processing":
                return None
            return current.with_status("failed", failure_code=failure_code), "payment.failed"

        return self._book.change(payment_id, fail)

    def _ask_for_authentication(
        self, payment_id: str, customer_id: str, method: str, card_id: str | None, since: tuple[str, ...]
    ) -> Payment:
        """Stop the payment at ``requires_action`` with a challenge bound to its amount and merchant."""
        payment = self._book.get(payment_id)
        try:
            challenge = self._auth.issue(customer_id, payment.amount, payment.merchant_id)
        except EnrolmentRequired:
            if payment.status == "processing":
                # The issuer asked for authentication the customer cannot give: free the payment for another way.
                self._book.change(payment_id, unclaimed)
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

        return self._book.change(payment_id, ask)

    def _claim(self, payment_id: str, customer_id: str, method: str, card_id: str | None, challenged: bool) -> bool:
        """Take the payment for this customer (``processing``) unless a challenge must come first (False)."""
        with self._db.transaction() as tx:
            payment = self._book.load(tx, payment_id, lock=True)
            check_open(payment, customer_id)
            if not challenged and not self._exempt(tx, customer_id, payment.amount):
                return False
            self._book.record(
                tx,
                introduced(tx, payment, customer_id, self._clock()).with_status(
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

    def confirm_from_purse_in(self, tx: RawTx, payment_id: str, customer_id: str) -> Payment | None:
        """The purse pays without a code, in the caller's transaction: the payment's lock, its merchant's status,
        the exemption decision and the payment's writes (``_pay_in``). None when it cannot finish in one
        transaction (a challenge is due, or the purse cannot cover it: PostgreSQL has then aborted ``tx``)."""
        current, merchant = self._book.lock_with_merchant(tx, payment_id)
        check_open(current, customer_id)
        self._merchants.check_active(merchant)
        self._accounts.ensure(postings.COMMISSION_ACCOUNT, NormalSide.CREDIT, current.currency)
        self._accounts.ensure(postings.INTRODUCTIONS_ACCOUNT, NormalSide.CREDIT, current.currency)
        try:
            return self._pay_in(tx, current, customer_id, False, merchant.name)
        except InsufficientFunds:
            return None

    def _pay_from_purse(
        self, payment: Payment, customer_id: str, challenged: bool, merchant_name: str
    ) -> Payment | None:
        """The purse pays in one transaction: the exemption decision, the hold (manual capture) or the capture
        entry (automatic), the new state, its events and the receipt commit together or not at all, so no crash
        can leave a purse payment half-done. None when a challenge must come first."""
        self._accounts.ensure(postings.COMMISSION_ACCOUNT, NormalSide.CREDIT, payment.currency)
        self._accounts.ensure(postings.INTRODUCTIONS_ACCOUNT, NormalSide.CREDIT, payment.currency)
        try:
            with self._db.transaction() as tx:
                current = self._book.load(tx, payment.id, lock=True)
                check_open(current, customer_id)
                return self._pay_in(tx, current, customer_id, challenged, merchant_name)
        except InsufficientFunds:
            return self._fail_open(payment.id, customer_id, "insufficient_funds")

    def _pay_in(
        self, tx: RawTx, current: Payment, customer_id: str, challenged: bool, merchant_name: str
    ) -> Payment | None:
        """The writes of a purse payment, on the locked, open payment ``current``; None if a challenge is due."""
        now = self._clock()
        if not challenged and not self._exempt(tx, customer_id, current.amount):
            return None
        amount = current.amount.minor
        authorized = introduced(tx, current, customer_id, now).with_status(
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
            return self._book.record(tx, authorized, "payment.authorized")
        self._ledger.post_in(tx, capture_request(authorized, amount))
        done = authorized.with_status("succeeded", amount_captured=amount)
        self._book.record(tx, done, "payment.succeeded", passed=(authorized, "payment.authorized"))
        issue_receipt(self._receipts, tx, done, merchant_name, now, self._book.pseudonyms)
        return done

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

        return self._book.change(payment_id, fail)

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

        return self._book.change(payment_id, authorize)
