"""Loading payments and recording their changes together with the events that announce them.

Shared by ``payments.service`` and ``payments.refunds``: every state change goes through ``record`` (or ``change``,
which takes the payment's row lock first), so that no change is ever written without its event.
"""

from __future__ import annotations

from collections.abc import Callable

from kleline.clock import Clock, epoch_us
from kleline.db.engine import Database, RawTx
from kleline.errors import NotFound
from kleline.events import outbox
from kleline.merchants.model import Merchant
from kleline.payments import store
from kleline.payments.model import Payment
from kleline.payments.views import merchant_payment_json
from kleline.privacy.pseudonyms import Pseudonyms

__all__ = ["PaymentBook"]


class PaymentBook:
    """Loading payments and recording their changes with their events; shared by payments and refunds."""

    def __init__(self, db: Database, clock: Clock, checkout_base: str, pseudonyms: Pseudonyms) -> None:
        self.db = db
        self.pseudonyms = pseudonyms
        self.clock = clock
        self.checkout_base = checkout_base.rstrip("/")

    def checkout_url(self, payment_id: str) -> str:
        """Where the customer pays: Kleline's hosted checkout page for this payment."""
        return f"{self.checkout_base}/checkout/{payment_id}"

    def load(self, tx: RawTx, payment_id: str, *, lock: bool = False) -> Payment:
        """A payment, or ``NotFound``."""
        payment = store.load_payment(tx, payment_id, self.checkout_base, lock=lock)
        if payment is None:
            raise NotFound(f"no payment {payment_id}", param="id")
        return payment

    def lock_with_merchant(self, tx: RawTx, payment_id: str) -> tuple[Payment, Merchant]:
        """A payment, locked for the rest of ``tx``, and its merchant, read in the same statement; or ``NotFound``."""
        found = store.lock_payment_with_merchant(tx, payment_id, self.checkout_base)
        if found is None:
            raise NotFound(f"no payment {payment_id}", param="id")
        return found

    def get(self, payment_id: str) -> Payment:
        """A payment read on its own."""
        with self.db.transaction(write=False) as tx:
            return self.load(tx, payment_id)

    def of_merchant(self, merchant_id: str, payment_id: str) -> Payment:
        """A merchant's own payment; another merchant's is ``NotFound``, as if it did not exist."""
        payment = self.get(payment_id)
        if payment.merchant_id != merchant_id:
            raise NotFound(f"no payment {payment_id}", param="id")
        return payment

    def record(
        self, tx: RawTx, payment: Payment, event: str | None, *, passed: tuple[Payment, str] | None = None
    ) -> Payment:
        """Write the payment's new state and, in the same transaction, the event that announces it; ``passed``, a
        step it went through on the way (as it stood then, and its event), is announced first, in one statement
        with the other on PostgreSQL."""
        store.save_payment(tx, payment, epoch_us(self.clock()))
        if event is not None and passed is not None:
            outbox.record_steps(
                tx,
                merchant_id=payment.merchant_id,
                object_id=payment.id,
                steps=((passed[1], self._event_data(passed[0])), (event, self._event_data(payment))),
                created_at=self.clock(),
            )
        elif event is not None:
            self.announce(tx, payment, event)
        elif passed is not None:
            self.announce(tx, *passed)
        return payment

    def announce(self, tx: RawTx, payment: Payment, event: str) -> None:
        """Write an event about the payment as it stands in ``payment`` (a step it passed through on the way)."""
        outbox.record(
            tx,
            type=event,
            merchant_id=payment.merchant_id,
            object_id=payment.id,
            data=self._event_data(payment),
            created_at=self.clock(),
        )

    def _event_data(self, payment: Payment) -> dict[str, object]:
        # The merchant's view without the email: an event is kept, and the email, whose consent may be withdrawn
        # before delivery, is added only when the event is delivered or read (payments.disclosure).
        return merchant_payment_json(payment, self.pseudonyms, None)

    def change(self, payment_id: str, update: Callable[[Payment], tuple[Payment, str | None] | None]) -> Payment:
        """Apply ``update`` to the locked payment; it returns the new payment and its event, or None to leave it."""
        with self.db.transaction() as tx:
            payment = self.load(tx, payment_id, lock=True)
            changed = update(payment)
            if changed is None:
                return payment
            return self.record(tx, *changed)
