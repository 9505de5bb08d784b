"""Topping up the purse from a registered card: limits, strong authentication, the issuer, then the books.

1. Under the customer's row lock: the purse's limits (ceiling and monthly top-ups, counting top-ups still under
   way) and, unless a challenge was just passed, the exemption decision. Either refusal writes nothing but the
   challenge the customer must pass.
2. Outside any transaction: the issuer authorises and captures (a decline is a failed top-up with its reason).
3. The ledger posts card receivable → purse, with the top-up's id as the entry id, so a retry cannot credit twice.

A crash between capture and posting leaves the top-up ``pending`` with the money captured; posting it again under
the same id completes it exactly once (a sweep for that belongs with settlement).

An issuer that does not answer: an unanswered authorisation fails the top-up (``issuer_unavailable``; the network
reverses whatever the issuer may hold). An unanswered capture is sent once more; if that is lost too, a reversal
tells what happened: released (the capture never arrived, the top-up fails) or refused as already captured (the
purse is credited). Only when even the reversal goes unanswered does the top-up stay ``pending``, and the caller
gets ``IssuerUnavailable``.
"""

from __future__ import annotations

from typing import Protocol

from kleline.banks import AuthorizationClosed, BankError, BankNetwork, CardDetails, IssuerUnavailable
from kleline.banks.declines import decline_code
from kleline.clock import Clock, epoch_us
from kleline.db.engine import Database
from kleline.errors import NotFound, ValidationError
from kleline.ids import new_id
from kleline.ledger import EntryRequest, Ledger, NormalSide, UnknownAccount, credit, debit
from kleline.money import Money
from kleline.wallet import sca_store, top_up_store
from kleline.wallet.cards import parse_card_number
from kleline.wallet.customers import PURSE_CURRENCY, purse_code
from kleline.wallet.limits import LimitsPolicy, check_top_up, month_start
from kleline.wallet.model import TopUp
from kleline.wallet.strong_auth import StrongAuth

__all__ = ["CardSource", "TOP_UP_PAYEE", "TopUps"]

TOP_UP_PAYEE = "kleline:purse"
"""The payee a top-up's challenge is bound to: the customer's own purse at Kleline."""


class CardSource(Protocol):
    """Where top-ups find a customer's card, opened for one payment (another customer's card is ``NotFound``)."""

    def card_details(self, customer_id: str, card_id: str) -> CardDetails:
        """The card's details for a payment (no security code: it was never stored)."""
        ...


class TopUps:
    """Top up purses from cards."""

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        bank: BankNetwork,
        cards: CardSource,
        auth: StrongAuth,
        limits: LimitsPolicy,
        *,
        clock: Clock,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._bank = bank
        self._cards = cards
        self._auth = auth
        self._limits = limits
        self._clock = clock

    def top_up(
        self,
        customer_id: str,
        amount: Money,
        card_id: str,
        *,
        challenge_id: str | None = None,
        sca_code: str | None = None,
    ) -> TopUp:
        """Credit the purse with ``amount`` taken from the card, within limits and strong authentication."""
        if amount.currency != PURSE_CURRENCY:
            raise ValidationError(f"the purse holds {PURSE_CURRENCY}, not {amount.currency}", param="currency")
        if amount.minor <= 0:
            raise ValidationError("amount must be a positive number of cents", param="amount")
        card = self._cards.card_details(customer_id, card_id)
        challenged = challenge_id is not None
        if challenge_id is not None:
            if not sca_code:
                raise ValidationError("send the code from your authenticator with the challenge", param="sca_code")
            self._auth.pass_challenge(customer_id, challenge_id, sca_code, amount, TOP_UP_PAYEE)
        top_up = TopUp(new_id("top"), customer_id, card_id, amount, "pending", None, self._clock())
        if not self._reserve(top_up, challenged):
            challenge = self._auth.issue(customer_id, amount, TOP_UP_PAYEE)
            stopped = TopUp(
                top_up.id, customer_id, card_id, amount, "requires_action", None, top_up.created_at, challenge.id
            )
            with self._db.transaction() as tx:
                top_up_store.insert_top_up(tx, stopped)
            return stopped
        return self._charge(top_up, card)

    def _reserve(self, top_up: TopUp, challenged: bool) -> bool:
        """Check the limits and the exemption under the customer's lock, and record the top-up as pending; False
        when a challenge must be passed first."""
        with self._db.transaction() as tx:
            locked = sca_store.lock_customer(tx, top_up.customer_id, PURSE_CURRENCY)
            if locked is None:
                raise NotFound("no such customer")
            kyc_level, _, exemption = locked
            purse = self._ledger.balance(purse_code(top_up.customer_id))
            under_way = top_up_store.pending_total(tx, top_up.customer_id)
            this_month = top_up_store.month_total(tx, top_up.customer_id, epoch_us(month_start(top_up.created_at)))
            check_top_up(
                self._limits.for_level(kyc_level),
                Money(purse.posted + under_way, PURSE_CURRENCY),
                Money(this_month, PURSE_CURRENCY),
                top_up.amount,
            )
            if not challenged and not self._auth.decide(tx, top_up.customer_id, exemption, top_up.amount).exempt:
                return False
            top_up_store.insert_top_up(tx, top_up)
        return True

    def _charge(self, top_up: TopUp, card: CardDetails) -> TopUp:
        try:
            authorization = self._bank.authorize(card, top_up.amount, reference=top_up.id)
        except IssuerUnavailable:
            return self._finish(top_up, "failed", "issuer_unavailable", None, None)
        if not authorization.approved:
            return self._finish(top_up, "failed", decline_code(authorization.code), None, None)
        authorization_id = authorization.authorization_id
        assert authorization_id is not None  # an approval always carries its id (Authorization checks it)
        try:
            self._capture(authorization_id, top_up.amount)
        except IssuerUnavailable:
            try:
                self._bank.reverse(authorization_id)
            except AuthorizationClosed:
                pass  # captured after all: the purse is credited below
            else:
                return self._finish(top_up, "failed", "issuer_unavailable", authorization_id, None)
        except BankError:
            self._bank.reverse(authorization_id)
            return self._finish(top_up, "failed", "capture_failed", authorization_id, None)
        receivable = self._receivable(parse_card_number(card.number).brand.value)
        entry = self._ledger.post(
            EntryRequest(
                top_up.id,
                (debit(receivable, top_up.amount), credit(purse_code(top_up.customer_id), top_up.amount)),
                "purse top-up by card",
                {"top_up": top_up.id, "card": top_up.card_id},
            )
        )
        return self._finish(top_up, "succeeded", None, authorization_id, entry.id)

    def _capture(self, authorization_id: str, amount: Money) -> None:
        try:
            self._bank.capture(authorization_id, amount)
        except IssuerUnavailable:
            self._bank.capture(authorization_id, amount)  # once more: a repeated advice is answered the same

    def _finish(
        self, top_up: TopUp, status: str, failure: str | None, authorization_id: str | None, entry_id: str | None
    ) -> TopUp:
        with self._db.transaction() as tx:
            top_up_store.finish_top_up(tx, top_up.id, status, failure, authorization_id, entry_id)
        return TopUp(top_up.id, top_up.customer_id, top_up.card_id, top_up.amount, status, failure, top_up.created_at)

    def _receivable(self, network: str) -> str:
        code = f"card:{network}:receivable"
        try:
            self._ledger.account(code)
        except UnknownAccount:
            self._ledger.open_account(code, PURSE_CURRENCY, NormalSide.DEBIT)
        return code
