"""Topping up the purse from a registered card: limits, strong authentication, the issuer, then the books.

0. A challenge answered (``challenge_id`` with a TOTP code, or with a passkey's answer to a ceremony of that
   challenge) is passed first, bound to the amount and to the purse as payee (``TOP_UP_PAYEE``), exactly as a
   payment's is (``StrongAuth.pass_proof``): a code or a signature made for another amount does not pass.
1. Under the customer's row lock: the purse's limits (ceiling and monthly top-ups, counting top-ups still under
   way) and, unless a challenge was just passed, the exemption decision. Either refusal writes nothing but the
   challenge the customer must pass.
2. Outside any transaction: the issuer authorises (its authorisation id is recorded on the pending top-up before
   anything is captured, so that the issuer can be asked about it later) and captures. A decline is a failed
   top-up with its reason.
3. Under the customer's and the top-up's row locks, in one transaction: the ledger posts card receivable → purse
   with the top-up's id as the entry id, and the top-up becomes ``succeeded``. Entry and status move together, so
   whoever ends a top-up second (a late request, a second sweep) finds it ended and posts nothing; and the limits,
   read under the same customer lock, never see the money both in the purse and under way, nor in neither.

An issuer that does not answer: an unanswered authorisation fails the top-up (``issuer_unavailable``; the network
reverses whatever the issuer may hold). An unanswered capture is sent once more; if that is lost too, a reversal
tells what happened: released (the capture never arrived, the top-up fails) or refused as already captured (the
purse is credited). Only when even the reversal goes unanswered does the top-up stay ``pending``, and the caller
gets ``IssuerUnavailable``.

A top-up left ``pending`` (that case, or a process that died between the issuer and the books, perhaps with the
money captured) counts against the limits until the worker's ``wallet.resume_pending_top_ups`` sweep carries it
to its end (``resume_pending``, in ``kleline.wallet.top_up_recovery``): it asks the issuer again under the same
references, credits the purse exactly once if the money was captured, and fails the top-up if it was not.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from kleline.banks import AuthorizationClosed, BankError, BankNetwork, CardDetails, IssuerUnavailable
from kleline.banks.declines import decline_code
from kleline.clock import Clock, epoch_us
from kleline.db.engine import Database, RawTx, Read
from kleline.errors import NotFound, ValidationError
from kleline.ids import new_id
from kleline.ledger import EntryRequest, InvalidEntry, Ledger, NormalSide, UnknownAccount, credit, debit
from kleline.money import Money
from kleline.wallet import sca_store, top_up_store
from kleline.wallet.cards import parse_card_number
from kleline.wallet.customers import PURSE_CURRENCY, purse_code
from kleline.wallet.limits import LimitsPolicy, check_top_up, month_start
from kleline.wallet.model import Customer, TopUp
from kleline.wallet.passkey import PasskeyProof
from kleline.wallet.standing import PurseStanding, purse_standing, purse_standing_read
from kleline.wallet.strong_auth import StrongAuth
from kleline.wallet.top_up_recovery import TopUpRecovery

__all__ = ["CardSource", "TOP_UP_PAYEE", "TopUps", "pass_top_up_challenge"]

TOP_UP_PAYEE = "kleline:purse"
"""The payee a top-up's challenge is bound to: the customer's own purse at Kleline."""


def pass_top_up_challenge(
    auth: StrongAuth,
    customer_id: str,
    amount: Money,
    challenge_id: str | None,
    sca_code: str | None,
    passkey: PasskeyProof | None,
) -> bool:
    """Pass the top-up's challenge ``challenge_id``, if one is answered, with the code or the passkey's answer, bound
    to ``amount`` and the purse (a refusal raises, with the same codes as a payment's); whether one was passed."""
    if challenge_id is None:
        if passkey is not None:
            raise ValidationError("a passkey's answer passes a challenge: send its challenge_id", param="challenge_id")
        return False
    if passkey is not None and sca_code:
        raise ValidationError("send a code from your authenticator or a passkey's answer, not both", param="passkey")
    proof: str | PasskeyProof | None = passkey if passkey is not None else sca_code
    if not proof:
        raise ValidationError(
            "send the code from your authenticator (or a passkey's answer) with the challenge", param="sca_code"
        )
    auth.pass_proof(customer_id, challenge_id, proof, amount, TOP_UP_PAYEE)
    return True


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
        self._recovery = TopUpRecovery(db, bank, cards.card_details, self, clock=clock)

    def top_up(
        self,
        customer_id: str,
        amount: Money,
        card_id: str,
        *,
        challenge_id: str | None = None,
        sca_code: str | None = None,
        passkey: PasskeyProof | None = None,
    ) -> TopUp:
        """Credit the purse with ``amount`` taken from the card, within limits and strong authentication (after a
        ``requires_action``: its ``challenge_id`` with the authenticator's ``sca_code`` or a ``passkey``'s answer)."""
        if amount.currency != PURSE_CURRENCY:
            raise ValidationError(f"the purse holds {PURSE_CURRENCY}, not {amount.currency}", param="currency")
        if amount.minor <= 0:
            raise ValidationError("amount must be a positive number of cents", param="amount")
        card = self._cards.card_details(customer_id, card_id)
        challenged = pass_top_up_challenge(self._auth, customer_id, amount, challenge_id, sca_code, passkey)
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

    def get(self, customer_id: str, top_up_id: str) -> TopUp:
        """One of the customer's top-ups (by card or direct debit); another customer's is ``NotFound``, as a missing
        one."""
        with self._db.transaction(write=False) as tx:
            found = top_up_store.load_top_up(tx, top_up_id)
        if found is None or found.top_up.customer_id != customer_id:
            raise NotFound(f"no top-up {top_up_id}", param="top_up_id")
        return found.top_up

    def standing(self, customer: Customer) -> PurseStanding:
        """The customer's purse against its limits now: balances, this month's top-ups, the room left."""
        return purse_standing(self._db, self._ledger, self._limits, customer, self._clock())

    def standing_read(self, customer: Customer) -> Read[PurseStanding]:
        """``standing`` as a read of one row, for a page that shows it with other figures in one statement."""
        return purse_standing_read(self._ledger, self._limits, customer, self._clock())

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
            return self.fail(top_up.id, "issuer_unavailable", None)
        if not authorization.approved:
            return self.fail(top_up.id, decline_code(authorization.code), None)
        authorization_id = authorization.authorization_id
        assert authorization_id is not None  # an approval always carries its id (Authorization checks it)
        with self._db.transaction() as tx:
            top_up_store.record_authorization(tx, top_up.id, authorization_id)
        try:
            self._capture(authorization_id, top_up.amount)
        except IssuerUnavailable:
            try:
                self._bank.reverse(authorization_id)
            except AuthorizationClosed:
                pass  # captured after all: the purse is credited below
            else:
                return self.fail(top_up.id, "issuer_unavailable", authorization_id)
        except BankError:
            self._bank.reverse(authorization_id)
            return self.fail(top_up.id, "capture_failed", authorization_id)
        return self.credit(top_up.id, authorization_id, parse_card_number(card.number).brand.value)

    def _capture(self, authorization_id: str, amount: Money) -> None:
        try:
            self._bank.capture(authorization_id, amount)
        except IssuerUnavailable:
            self._bank.capture(authorization_id, amount)  # once more: a repeated advice is answered the same

    # --- ends, for the request and for the sweep (kleline.wallet.top_up_recovery) ----------------------------------

    def credit(self, top_up_id: str, authorization_id: str, network: str) -> TopUp:
        """Post a captured top-up to the purse (entry id = top-up id) and mark it ``succeeded``, in one transaction;
        a top-up already ended (by a late request or another sweep) is returned as it is."""
        receivable = self._receivable(network)
        # Only top-ups from before entry and status moved together may have their entry without their status.
        posted = self._posted(top_up_id)
        with self._db.transaction() as tx:
            current = self._lock(tx, top_up_id)
            if current.status != "pending":
                return current
            if not posted:
                self._ledger.post_in(tx, _entry(current, receivable))
            top_up_store.finish_top_up(tx, top_up_id, "succeeded", None, authorization_id, top_up_id)
        return replace(current, status="succeeded")

    def fail(self, top_up_id: str, failure_code: str, authorization_id: str | None) -> TopUp:
        """Mark a pending top-up ``failed`` with its reason; nothing is posted. A top-up already ended is returned
        as it is."""
        with self._db.transaction() as tx:
            current = self._lock(tx, top_up_id)
            if current.status != "pending":
                return current
            top_up_store.finish_top_up(tx, top_up_id, "failed", failure_code, authorization_id, None)
        return replace(current, status="failed", failure_code=failure_code)

    def resume_pending(self, older_than: timedelta, limit: int = 100) -> list[str]:
        """The sweep: carry card top-ups pending for longer than ``older_than`` to their end, as the issuer tells;
        the ids of those that ended."""
        return self._recovery.resume_pending(older_than, limit)

    def resume(self, top_up_id: str) -> TopUp:
        """Carry one pending card top-up to its end now (``pending`` still while the issuer does not answer)."""
        return self._recovery.resume(top_up_id)

    def _lock(self, tx: RawTx, top_up_id: str) -> TopUp:
        """Lock the customer's row, then the top-up's (the order ``_reserve`` takes them in), and read it."""
        found = top_up_store.load_top_up(tx, top_up_id)
        if found is None:
            raise NotFound(f"no top-up {top_up_id}")
        sca_store.lock_customer(tx, found.top_up.customer_id, PURSE_CURRENCY)
        locked = top_up_store.load_top_up(tx, top_up_id, lock=True)
        assert locked is not None  # top-ups are never deleted
        return locked.top_up

    def _posted(self, entry_id: str) -> bool:
        try:
            self._ledger.entry(entry_id)
        except InvalidEntry:
            return False
        return True

    def _receivable(self, network: str) -> str:
        code = f"card:{network}:receivable"
        try:
            self._ledger.account(code)
        except UnknownAccount:
            self._ledger.open_account(code, PURSE_CURRENCY, NormalSide.DEBIT)
        return code


def _entry(top_up: TopUp, receivable: str) -> EntryRequest:
    return EntryRequest(
        top_up.id,
        (debit(receivable, top_up.amount), credit(purse_code(top_up.customer_id), top_up.amount)),
        "purse top-up by card",
        {"top_up": top_up.id, "card": top_up.card_id},
    )
