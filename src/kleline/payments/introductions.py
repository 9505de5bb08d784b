"""Introductions (issue 15): which payments carry an introduction fee.

A customer is *introduced* to a merchant by an offer of that merchant they answered ``interested`` or
``share_email`` (an ``offer_deliveries`` row); for ``INTRODUCTION_WINDOW`` after that offer was delivered, a payment
the customer confirms at that merchant carries the merchant's introduction fee rate as it stands at the confirmation,
and the offer's id. The rate is fixed then and never changes with the merchant's later rate, as the commission rate
is fixed when the payment is created. An answer ``not_interested``, no answer, another merchant's offer or a delivery
older than the window introduce nobody.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from kleline.clock import epoch_us
from kleline.db.engine import RawTx
from kleline.payments import store
from kleline.payments.model import Payment

__all__ = ["INTRODUCTION_WINDOW", "introduced"]

INTRODUCTION_WINDOW: Final = timedelta(days=30)
"""How long after an offer's delivery a purchase by the customer it introduced carries the introduction fee: its 30
days, the delivery's instant opening the first; from the same instant 30 days later (day 31), none."""


def introduced(tx: RawTx, payment: Payment, customer_id: str, now: datetime) -> Payment:
    """``payment`` with the introduction fee it carries when ``customer_id`` confirms it at ``now``: the merchant's
    current rate and the introducing offer, or none (one indexed query, in the confirmation's transaction)."""
    found = store.introduction(tx, customer_id, payment.merchant_id, epoch_us(now - INTRODUCTION_WINDOW))
    if found is None:
        if payment.introduction_offer_id is None and not payment.intro_fee_bps:
            return payment
        return payment.with_status(payment.status, intro_fee_bps=0, introduction_offer_id=None)
    offer_id, rate = found
    return payment.with_status(payment.status, intro_fee_bps=rate, introduction_offer_id=offer_id)
