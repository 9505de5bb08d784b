"""Direct debits as one service: bank accounts, top-ups, runs, and what bank statements say of collections.

Reconciliation (``kleline.reconciliation``) calls the three ``*_in`` functions inside the transaction that records
a statement line, so that the line, the collection's new state and its ledger entry commit together. Each entry's
id derives from the collection (``dd_...:collected``, ``dd_...:returned``), and each function answers a second
call for the same line with the first entry, so importing a statement twice changes nothing.

A returned collection reverses its top-up: ``bank:<bic>:safeguarding`` Cr (``in-transit`` Cr if the statement
never showed it collected), the purse Dr as far as its available balance goes, and the rest, the shortfall, Dr on
``customer:<id>:receivable``: what the customer now owes Kleline, listed for operators by ``receivables`` and
cleared by ``debts`` (repaid from the purse, or written off: ``collections.debts``). A return takes the customer's
row lock before it reads the purse, as a direct-debit top-up does before it checks for debts, so that the two
cannot each miss the other.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date

from kleline.clock import Clock, from_epoch_us
from kleline.collections import store
from kleline.collections.bank_accounts import BankAccounts
from kleline.collections.debts import Debts
from kleline.collections.direct_debits import DirectDebitTopUps
from kleline.collections.errors import CollectionAlreadySettled, CollectionNotSubmitted, UnknownCollection
from kleline.collections.model import Collection, CollectionStatus, Receivable, receivable_code
from kleline.collections.runs import CollectionRuns
from kleline.db.engine import Database, RawTx
from kleline.errors import ValidationError
from kleline.ledger import Entry, EntryRequest, InsufficientFunds, Ledger, Posting, credit, debit
from kleline.money import Money
from kleline.sepa.model import OwnAccount, object_id
from kleline.wallet import sca_store
from kleline.wallet.customers import PURSE_CURRENCY, purse_code
from kleline.wallet.limits import LimitsPolicy
from kleline.wallet.strong_auth import StrongAuth

__all__ = ["Collections"]

_RETURN_ATTEMPTS = 3
_MAX_REASON = 35


class Collections:
    """Customers' bank accounts, direct-debit top-ups, collection runs, and their settlement by the bank."""

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
        self._own = own_account
        self._clock = clock
        self.bank_accounts = BankAccounts(db, ledger, clock=clock)
        self.top_ups = DirectDebitTopUps(db, ledger, auth, limits, own_account, clock=clock)
        self.runs = CollectionRuns(db, own_account, clock=clock)
        self.debts = Debts(db, ledger)

    # --- reading --------------------------------------------------------------------------------------------

    def get(self, collection_id: str) -> Collection:
        """A collection by id."""
        with self._db.transaction(write=False) as tx:
            collection = store.load_collection(tx, collection_id)
        if collection is None:
            raise UnknownCollection(f"no collection {collection_id}", param="id")
        return collection

    def list(
        self,
        *,
        status: str | None = None,
        customer_id: str | None = None,
        run_id: str | None = None,
        limit: int = 20,
        after: str | None = None,
    ) -> tuple[builtins.list[Collection], bool]:
        """Collections newest first (by status, customer or run), after the ``after`` id; and whether more follow."""
        if status is not None and status not in set(CollectionStatus):
            raise ValidationError(f"status: one of {', '.join(CollectionStatus)}", param="status")
        with self._db.transaction(write=False) as tx:
            if after is not None and store.load_collection(tx, after) is None:
                raise UnknownCollection(f"no collection {after}", param="starting_after")
            found = store.list_collections(
                tx, status=status, customer_id=customer_id, run_id=run_id, limit=limit + 1, after=after
            )
        return found[:limit], len(found) > limit

    def receivables(self, *, limit: int = 20, after: str | None = None) -> tuple[builtins.list[Receivable], bool]:
        """Customers who still owe money after returned collections, by customer id; and whether more follow.

        What they owe is read from the ledger (their receivable account), so that any later repayment booked
        there shows at once; customers whose debt is cleared are left out."""
        owing: builtins.list[Receivable] = []
        cursor = after
        while len(owing) <= limit:
            with self._db.transaction(write=False) as tx:
                batch = store.customers_in_debt(tx, after=cursor, limit=100)
            if not batch:
                break
            for customer_id, returned, last_at in batch:
                cursor = customer_id
                balance = self._ledger.balance(receivable_code(customer_id))
                if balance.posted > 0:
                    outstanding = Money(balance.posted, balance.currency)
                    owing.append(Receivable(customer_id, outstanding, returned, from_epoch_us(last_at)))
                    if len(owing) > limit:
                        break
        return owing[:limit], len(owing) > limit

    # --- for reconciliation ---------------------------------------------------------------------------------

    def collection_by_end_to_end(self, tx: RawTx, end_to_end_id: str) -> Collection | None:
        """The collection a statement line's end-to-end id names (its id), its row locked for the rest of ``tx``."""
        collection_id = object_id(end_to_end_id, "dd")
        if collection_id is None:
            return None
        return store.load_collection(tx, collection_id, lock=True)

    def confirm_collected_in(self, tx: RawTx, collection: Collection, *, line_ref: str, booked_on: date) -> Entry:
        """The statement shows the money collected: safeguarding Dr / in-transit Cr, status ``collected``.

        The same line again returns the first entry; another line for a collection already settled is
        ``CollectionAlreadySettled`` (a duplicate), one for a collection never sent ``CollectionNotSubmitted``."""
        current = self._current(tx, collection)
        if current.status is CollectionStatus.COLLECTED and current.collected_line_ref == line_ref:
            return self._ledger.entry(current.collected_entry_id)
        self._check_open(current, "collected")
        entry = self._ledger.post_in(
            tx,
            EntryRequest(
                current.collected_entry_id,
                (debit(self._own.safeguarding_code, current.amount), credit(self._own.in_transit_code, current.amount)),
                "direct debit collected",
                {
                    "collection": current.id,
                    "top_up": current.top_up_id,
                    "statement_line": line_ref,
                    "booked_on": booked_on.isoformat(),
                },
            ),
        )
        collected = replace(
            current, status=CollectionStatus.COLLECTED, collected_at=self._clock(), collected_line_ref=line_ref
        )
        store.save_collection(tx, collected)
        return entry

    def confirm_returned_in(self, tx: RawTx, collection: Collection, *, line_ref: str, reason: str) -> Entry:
        """The debtor's bank returned the collection (``reason``: the ISO return code, AM04, MD06, ...): the
        top-up is reversed from the purse, the part the purse cannot cover booked as the customer's receivable.

        The same line again returns the first entry; a second return, or a return of a collection never sent,
        is refused as in ``confirm_collected_in``."""
        current = self._current(tx, collection)
        if current.status is CollectionStatus.RETURNED and current.returned_line_ref == line_ref:
            return self._ledger.entry(current.returned_entry_id)
        if current.status is not CollectionStatus.COLLECTED:
            self._check_open(current, "returned")
        # The customer's lock, which a direct-debit top-up holds while it checks for debts and credits the purse:
        # so that a top-up either sees this return's debt or has committed its credit before the purse is read.
        if sca_store.lock_customer(tx, current.customer_id, PURSE_CURRENCY) is None:
            raise AssertionError(f"collection {current.id} names no customer")  # a foreign key forbids it
        # Returned before any statement showed it collected, the money never reached the safeguarding account.
        bank = (
            self._own.safeguarding_code if current.status is CollectionStatus.COLLECTED else self._own.in_transit_code
        )
        entry, shortfall = self._reverse(tx, current, bank, line_ref, reason)
        returned = replace(
            current,
            status=CollectionStatus.RETURNED,
            returned_at=self._clock(),
            returned_line_ref=line_ref,
            return_reason=reason.strip()[:_MAX_REASON] or None,
            shortfall=shortfall,
        )
        store.save_collection(tx, returned)
        return entry

    def _reverse(self, tx: RawTx, collection: Collection, bank: str, line_ref: str, reason: str) -> tuple[Entry, Money]:
        """Post the reversal, taking from the purse what it has available now. A purse payment may spend the purse
        between the balance read and the posting; the ledger's floor then refuses the entry, and it is tried again
        (inside a savepoint, so the caller's transaction survives) with less from the purse, and at last with
        nothing from it."""
        amount = collection.amount
        for attempt in range(_RETURN_ATTEMPTS):
            available = self._ledger.balance(purse_code(collection.customer_id)).available
            take = 0 if attempt == _RETURN_ATTEMPTS - 1 else max(min(available, amount.minor), 0)
            shortfall = Money(amount.minor - take, amount.currency)
            legs: list[Posting] = [credit(bank, amount)]
            if take:
                legs.append(debit(purse_code(collection.customer_id), Money(take, amount.currency)))
            if shortfall.minor:
                legs.append(debit(receivable_code(collection.customer_id), shortfall))
            request = EntryRequest(
                collection.returned_entry_id,
                tuple(legs),
                "direct debit returned: top-up reversed",
                {
                    "collection": collection.id,
                    "top_up": collection.top_up_id,
                    "statement_line": line_ref,
                    "reason": reason or None,
                    "shortfall": shortfall.minor,
                },
            )
            try:
                with _savepoint(tx, "collection_return"):
                    return self._ledger.post_in(tx, request), shortfall
            except InsufficientFunds:
                continue
        raise AssertionError("unreachable: the last attempt takes nothing from the purse, which has no other floor")

    def _current(self, tx: RawTx, collection: Collection) -> Collection:
        current = store.load_collection(tx, collection.id, lock=True)
        if current is None:
            raise UnknownCollection(f"no collection {collection.id}", param="collection_id")
        return current

    @staticmethod
    def _check_open(collection: Collection, outcome: str) -> None:
        if collection.status is CollectionStatus.PENDING:
            raise CollectionNotSubmitted(
                f"collection {collection.id} was never sent to the bank, so it cannot be {outcome}",
                param="collection_id",
            )
        if collection.status is not CollectionStatus.SUBMITTED:
            raise CollectionAlreadySettled(
                f"collection {collection.id} is already {collection.status.value} by another statement line",
                param="collection_id",
            )


@contextmanager
def _savepoint(tx: RawTx, name: str) -> Iterator[None]:
    """Undo only what the block wrote if it raises, leaving the rest of ``tx`` intact (on PostgreSQL, a failed
    statement otherwise aborts the whole transaction)."""
    tx.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        tx.execute(f"ROLLBACK TO SAVEPOINT {name}")
        tx.execute(f"RELEASE SAVEPOINT {name}")
        raise
    tx.execute(f"RELEASE SAVEPOINT {name}")
