"""Topping up the purse by SEPA direct debit: credited at once, collected later.

The customer's money reaches Kleline days after the request (the collection goes out in the next run and a
statement confirms it), but the purse is credited at once: ``bank:<bic>:in-transit`` Dr / purse Cr, where the
in-transit account holds the claim on the bank until a statement settles it. The risk is that the debit comes
back unpaid; it is bounded by the same limits as a card top-up (``wallet.limits``, which count every top-up,
whatever its source), by strong authentication on the same terms, and by refusing direct debits to a customer who
still owes money from a returned one.

Everything is one transaction under the customer's row lock (the lock every top-up and payment takes, and a
return before it books a debt): the debt check, the limits, the exemption decision, the top-up (``succeeded``), its
collection (``pending``) and the ledger entry, whose id is the top-up's, commit together or not at all, so no crash
can leave a purse credited without a collection to make (or the reverse). Retrying the request is the API's
``Idempotency-Key``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kleline.clock import Clock, epoch_us
from kleline.collections import store
from kleline.collections.errors import ReceivableOutstanding, UnknownBankAccount
from kleline.collections.model import Collection, CollectionStatus, receivable_code
from kleline.db.engine import Database
from kleline.errors import NotFound, ValidationError
from kleline.ids import new_id
from kleline.ledger import EntryRequest, Ledger, NormalSide, UnknownAccount, credit, debit
from kleline.money import Money
from kleline.sepa.model import OwnAccount
from kleline.wallet import sca_store, top_up_store
from kleline.wallet.customers import PURSE_CURRENCY, purse_code
from kleline.wallet.limits import LimitsPolicy, check_top_up, month_start
from kleline.wallet.model import TopUp
from kleline.wallet.passkey import PasskeyProof
from kleline.wallet.strong_auth import StrongAuth
from kleline.wallet.top_ups import TOP_UP_PAYEE, pass_top_up_challenge

__all__ = ["DirectDebitTopUp", "DirectDebitTopUps"]


@dataclass(frozen=True, slots=True)
class DirectDebitTopUp:
    """A top-up by direct debit and its collection (None when strong authentication must come first)."""

    top_up: TopUp
    collection: Collection | None


class DirectDebitTopUps:
    """Top up purses from customers' bank accounts."""

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        auth: StrongAuth,
        limits: LimitsPolicy,
        own_account: OwnAccount,
        *,
        clock: Clock,
    ) -> None:
        self._db = db
        self._ledger = ledger
        self._auth = auth
        self._limits = limits
        self._own = own_account
        self._clock = clock

    def top_up(
        self,
        customer_id: str,
        amount: Money,
        bank_account_id: str,
        *,
        challenge_id: str | None = None,
        sca_code: str | None = None,
        passkey: PasskeyProof | None = None,
    ) -> DirectDebitTopUp:
        """Credit the purse with ``amount`` now and owe a collection of it from the bank account (after a
        ``requires_action``: its ``challenge_id`` with the authenticator's ``sca_code`` or a ``passkey``'s answer)."""
        if amount.currency != PURSE_CURRENCY:
            raise ValidationError(f"the purse holds {PURSE_CURRENCY}, not {amount.currency}", param="currency")
        if amount.minor <= 0:
            raise ValidationError("amount must be a positive number of cents", param="amount")
        with self._db.transaction(write=False) as tx:
            if store.find_bank_account(tx, customer_id, bank_account_id) is None:
                raise UnknownBankAccount(f"no bank account {bank_account_id}", param="bank_account_id")
        # A first look, so that a customer in debt is told before passing (and spending) a challenge; the check
        # that counts is the one under the customer's lock in ``_credit``.
        self._refuse_if_owing(customer_id)
        challenged = pass_top_up_challenge(self._auth, customer_id, amount, challenge_id, sca_code, passkey)
        self._open_accounts(customer_id)
        now = self._clock()
        top_up = TopUp(new_id("top"), customer_id, None, amount, "pending", None, now, None, bank_account_id)
        collection = Collection(
            new_id("dd"), top_up.id, customer_id, bank_account_id, amount, CollectionStatus.PENDING, None, None, now
        )
        if self._credit(top_up, collection, challenged):
            return DirectDebitTopUp(replace(top_up, status="succeeded"), collection)
        challenge = self._auth.issue(customer_id, amount, TOP_UP_PAYEE)
        stopped = replace(top_up, status="requires_action", challenge_id=challenge.id)
        with self._db.transaction() as tx:
            top_up_store.insert_top_up(tx, stopped)
        return DirectDebitTopUp(stopped, None)

    def _credit(self, top_up: TopUp, collection: Collection, challenged: bool) -> bool:
        """Under the customer's lock: limits, exemption, then the top-up, its collection and the entry together;
        False (nothing written but the exemption counters' read) when a challenge must be passed first."""
        customer_id = top_up.customer_id
        with self._db.transaction() as tx:
            locked = sca_store.lock_customer(tx, customer_id, PURSE_CURRENCY)
            if locked is None:
                raise NotFound("no such customer")
            # Locked too, so that removing the account cannot slip between this check and the collection's insert.
            if store.find_bank_account(tx, customer_id, collection.bank_account_id, lock=True) is None:
                raise UnknownBankAccount(f"no bank account {collection.bank_account_id}", param="bank_account_id")
            # Read under the lock that a return takes too before it books a debt (``Collections.confirm_returned_in``):
            # a return being booked now has committed by the time the lock is ours, so its debt is seen here.
            self._refuse_if_owing(customer_id)
            kyc_level, _, exemption = locked
            purse = self._ledger.balance(purse_code(customer_id))
            under_way = top_up_store.pending_total(tx, customer_id)
            this_month = top_up_store.month_total(tx, customer_id, epoch_us(month_start(top_up.created_at)))
            check_top_up(
                self._limits.for_level(kyc_level),
                Money(purse.posted + under_way, PURSE_CURRENCY),
                Money(this_month, PURSE_CURRENCY),
                top_up.amount,
            )
            if not challenged and not self._auth.decide(tx, customer_id, exemption, top_up.amount).exempt:
                return False
            top_up_store.insert_top_up(tx, top_up)
            top_up_store.finish_top_up(tx, top_up.id, "succeeded", None, None, top_up.id)
            store.insert_collection(tx, collection, epoch_us(collection.created_at))
            self._ledger.post_in(
                tx,
                EntryRequest(
                    top_up.id,
                    (debit(self._own.in_transit_code, top_up.amount), credit(purse_code(customer_id), top_up.amount)),
                    "purse top-up by direct debit",
                    {"top_up": top_up.id, "collection": collection.id, "bank_account": collection.bank_account_id},
                ),
            )
        return True

    def _refuse_if_owing(self, customer_id: str) -> None:
        """``ReceivableOutstanding`` while a returned direct debit left the customer owing Kleline money."""
        try:
            owed = self._ledger.balance(receivable_code(customer_id)).posted
        except UnknownAccount:
            return
        if owed > 0:
            raise ReceivableOutstanding(
                "a direct debit from your bank account came back unpaid: settle it before topping up this way",
                param="bank_account_id",
            )

    def _open_accounts(self, customer_id: str) -> None:
        """Every account a collection's life touches, opened before any transaction that posts to them (a ledger
        account is opened in a transaction of its own, which must not wait on ours)."""
        for code in (self._own.in_transit_code, self._own.safeguarding_code, receivable_code(customer_id)):
            try:
                self._ledger.account(code)
            except UnknownAccount:
                self._ledger.open_account(code, PURSE_CURRENCY, NormalSide.DEBIT)
