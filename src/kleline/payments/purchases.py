"""A purchase as its customer's receipts show it, beside what the signed receipt attests: what was bought (the
payment's description, as the merchant gave it), how much and when it was paid, and the refunds of it that
succeeded, each of which has a receipt of its own.

The signed receipt names neither the description nor the refunds (its fields are fixed, and a refund comes after
the payment's receipt was signed): they are read from the payment, and only for its own customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kleline.clock import from_epoch_us
from kleline.db.engine import Database
from kleline.money import Money
from kleline.payments.activity_store import purchase_rows

__all__ = ["Purchase", "RefundGiven", "customer_purchase"]


@dataclass(frozen=True, slots=True)
class RefundGiven:
    """A refund of the purchase that succeeded: its id (that of its receipt), how much, when."""

    refund_id: str
    amount: Money
    at: datetime


@dataclass(frozen=True, slots=True)
class Purchase:
    """One payment of a customer: what for, what was captured and when it was paid, and its refunds, oldest first."""

    payment_id: str
    description: str | None
    amount: Money
    paid_at: datetime
    refunds: list[RefundGiven]


def customer_purchase(db: Database, customer_id: str, payment_id: str) -> Purchase | None:
    """The customer's payment ``payment_id`` as a purchase, in one query; None if it is not theirs."""
    with db.transaction(write=False) as tx:
        rows = purchase_rows(tx, customer_id, payment_id)
    if not rows:
        return None
    description, captured, currency, paid_at = rows[0][:4]
    refunds = [
        RefundGiven(str(refund_id), Money(int(amount), currency), from_epoch_us(int(at)))
        for *_, refund_id, amount, at in rows
        if refund_id is not None
    ]
    return Purchase(
        payment_id, description or None, Money(int(captured), currency), from_epoch_us(int(paid_at)), refunds
    )
