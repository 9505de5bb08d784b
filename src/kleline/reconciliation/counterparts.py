"""Finding what a statement line refers to, and confirming it: the one place that knows the other services.

A line's end-to-end id names a payout (``po_...``, settlement), a collection (collections), a refund (``re_...``)
or a card authorisation's retrieval reference (a card payment or a card top-up). Payouts and collections are
confirmed by their own services inside the caller's transaction (their state, entry and event move together);
card settlements and card refunds only move money between the bank and a network's receivable, so the entry is
posted here. Its id is derived from the settled object, not from the line: two lines settling the same capture in
two concurrent imports cannot both post, the second finds the id taken and is sent to suspense on its retry.
"""

from __future__ import annotations

from collections.abc import Callable

from kleline.collections import Collection, Collections, CollectionStatus
from kleline.db.engine import RawTx
from kleline.ledger import EntryRequest, Ledger
from kleline.money import Money
from kleline.payments import store as payments_store
from kleline.payments.postings import receivable_account
from kleline.reconciliation import store
from kleline.reconciliation.model import Action, Counterpart, Match, Target
from kleline.reconciliation.postings import card_settlement_postings
from kleline.sepa.model import OwnAccount, StatementLine
from kleline.settlement import Settlement
from kleline.settlement.model import Payout
from kleline.wallet import top_up_store

__all__ = ["Counterparts", "card_entry_id"]


def card_entry_id(object_id: str) -> str:
    """The entry that settles a card capture, top-up or refund with the bank: one per object, ever."""
    return f"{object_id}:settled"


_CardLookup = Callable[[RawTx, str], tuple[str, Money, str] | None]


class Counterparts:
    """Look up a line's counterpart (by reference or, for an operator, by id) and post what confirms it."""

    def __init__(self, ledger: Ledger, own: OwnAccount, settlement: Settlement, collections: Collections) -> None:
        self._ledger = ledger
        self._own = own
        self._settlement = settlement
        self._collections = collections
        self._cards: dict[Target, _CardLookup] = {
            Target.CARD_REFUND: lambda tx, ref: payments_store.card_refund_settlement(tx, ref),
            Target.CARD_PAYMENT: lambda tx, ref: payments_store.card_capture_settlement(tx, authorization_id=ref),
            Target.CARD_TOP_UP: lambda tx, ref: top_up_store.card_top_up_settlement(tx, authorization_id=ref),
        }
        self._cards_by_id: dict[Target, _CardLookup] = {
            Target.CARD_REFUND: lambda tx, ref: payments_store.card_refund_settlement(tx, ref),
            Target.CARD_PAYMENT: lambda tx, ref: payments_store.card_capture_settlement(tx, payment_id=ref),
            Target.CARD_TOP_UP: lambda tx, ref: top_up_store.card_top_up_settlement(tx, top_up_id=ref),
        }

    def by_reference(self, tx: RawTx, end_to_end_id: str | None) -> Counterpart | None:
        """What a line's end-to-end id names, or None (no id, or one the books do not know)."""
        if not end_to_end_id:
            return None
        payout = self._settlement.payout_by_end_to_end(tx, end_to_end_id)
        if payout is not None:
            return _payout(payout)
        collection = self._collections.collection_by_end_to_end(tx, end_to_end_id)
        if collection is not None:
            return _collection(collection)
        for target, lookup in self._cards.items():
            found = lookup(tx, end_to_end_id)
            if found is not None:
                return _card(tx, target, found)
        return None

    def by_id(self, tx: RawTx, target: Target, object_id: str) -> Counterpart | None:
        """The object an operator names when resolving a suspense item, or None."""
        if target is Target.PAYOUT:
            payout = self._settlement.payout_by_end_to_end(tx, object_id)
            return None if payout is None else _payout(payout)
        if target is Target.COLLECTION:
            collection = self._collections.collection_by_end_to_end(tx, object_id)
            return None if collection is None else _collection(collection)
        found = self._cards_by_id[target](tx, object_id)
        return None if found is None else _card(tx, target, found)

    def confirm_in(self, tx: RawTx, match: Match, line: StatementLine, *, line_ref: str) -> str:
        """Post what ``match`` says, in ``tx``; the id of the entry that did it."""
        counterpart, action = match.counterpart, match.action
        target = counterpart.target
        if target is Target.PAYOUT:
            payout = self._settlement.payout_by_end_to_end(tx, counterpart.id)
            assert payout is not None  # found a moment ago, in this transaction, under its row lock
            if action is Action.CONFIRM:
                return self._settlement.confirm_paid_in(tx, payout, line_ref=line_ref, booked_on=line.booking_date).id
            reason = line.return_reason or ""
            return self._settlement.confirm_returned_in(tx, payout, line_ref=line_ref, reason=reason).id
        if target is Target.COLLECTION:
            collection = self._collections.collection_by_end_to_end(tx, counterpart.id)
            assert collection is not None
            if action is Action.CONFIRM:
                entry = self._collections.confirm_collected_in(
                    tx, collection, line_ref=line_ref, booked_on=line.booking_date
                )
                return entry.id
            reason = line.return_reason or ""
            return self._collections.confirm_returned_in(tx, collection, line_ref=line_ref, reason=reason).id
        assert counterpart.account is not None  # a card counterpart always names its network's receivable
        request = EntryRequest(
            card_entry_id(counterpart.id),
            card_settlement_postings(self._own, line, target, counterpart.account),
            "card refund settled" if target is Target.CARD_REFUND else "card settlement received",
            {target.value: counterpart.id, "statement_line": line_ref, "entry_ref": line.entry_ref},
        )
        return self._ledger.post_in(tx, request).id


def _payout(payout: Payout) -> Counterpart:
    return Counterpart(
        Target.PAYOUT,
        payout.id,
        payout.amount,
        confirmed=payout.status in ("paid", "failed"),
        returned=payout.status == "failed",
    )


def _collection(collection: Collection) -> Counterpart:
    returned = collection.status is CollectionStatus.RETURNED
    return Counterpart(
        Target.COLLECTION,
        collection.id,
        collection.amount,
        confirmed=collection.status is CollectionStatus.COLLECTED or collection.collected_line_ref is not None,
        returned=returned,
    )


def _card(tx: RawTx, target: Target, found: tuple[str, Money, str]) -> Counterpart:
    object_id, amount, network = found
    return Counterpart(
        target,
        object_id,
        amount,
        confirmed=store.reconciled(tx, object_id, Action.CONFIRM),
        returned=False,
        account=receivable_account(network),
    )
