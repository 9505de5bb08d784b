"""Recovering payments a crash left half-way, for the worker's sweep.

A card confirmation cannot span the issuer in one transaction, so a process that dies after the claim leaves the
payment ``processing``, and one that dies (or meets a silent issuer) after the authorisation leaves an automatic
capture untaken. Carrying them on is safe because every step repeats: the issuer answers a repeated authorisation
under the same reference with its first answer, the ledger ids are derived from the payment, and recording a state
that is already recorded is a no-op. Expiring old authorisations is ``payments.capture``'s, beside cancel, since
both release an authorisation the same way.
"""

from __future__ import annotations

import builtins
from datetime import timedelta

from kleline.clock import epoch_us
from kleline.errors import NotFound
from kleline.payments import store
from kleline.payments.book import PaymentBook
from kleline.payments.confirm import Confirmations
from kleline.payments.errors import CaptureFailed, PaymentStateConflict
from kleline.payments.model import Payment
from kleline.wallet.top_ups import CardSource

__all__ = ["Recovery"]


class Recovery:
    """Finish stalled payments as the interrupted request would have."""

    def __init__(self, book: PaymentBook, cards: CardSource, confirmations: Confirmations) -> None:
        self._book = book
        self._db = book.db
        self._clock = book.clock
        self._cards = cards
        self._confirmations = confirmations

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
        payment = self._book.get(payment_id)
        if payment.status == "processing":
            payment = self._authorize_again(payment)
        if payment.status == "authorized" and payment.capture_method == "automatic":
            return self._confirmations.capture_automatically(payment)
        return payment

    def _authorize_again(self, payment: Payment) -> Payment:
        assert payment.customer_id is not None
        if payment.method == "purse":
            # Purse payments are authorised in the transaction that claims them, so none is ever left claimed.
            return self._confirmations.fail_claimed(payment.id, "interrupted")
        assert payment.card_id is not None
        try:
            card = self._cards.card_details(payment.customer_id, payment.card_id)
        except NotFound:
            return self._confirmations.fail_claimed(payment.id, "card_removed")
        return self._confirmations.authorize_claimed(payment, card)
