"""The ledger postings of a payment's life (DESIGN.md section 3, "Money flows"), as pure functions.

Every entry id is derived from the payment or refund id, so that a retry after a crash posts nothing twice:
the ledger answers an id it already holds with the original entry.
"""

from __future__ import annotations

from kleline.ledger import Posting, credit, debit
from kleline.merchants.model import balance_account
from kleline.money import Money
from kleline.payments.model import Payment, RefundSplit, commission
from kleline.wallet.customers import purse_code

__all__ = [
    "COMMISSION_ACCOUNT",
    "INTRODUCTIONS_ACCOUNT",
    "capture_entry_id",
    "capture_postings",
    "hold_id",
    "receivable_account",
    "refund_postings",
    "source_account",
]

COMMISSION_ACCOUNT = "kleline:commission"
INTRODUCTIONS_ACCOUNT = "kleline:introductions"
"""Kleline's revenue from introduction fees (issue 15), apart from the commission so that the books tell them apart."""


def hold_id(payment_id: str) -> str:
    """The purse hold that guarantees a purse payment."""
    return f"{payment_id}:hold"


def capture_entry_id(payment_id: str) -> str:
    """The entry that books a payment's capture."""
    return f"{payment_id}:capture"


def receivable_account(network: str) -> str:
    """What a card network owes Kleline for captured card payments, until it settles."""
    return f"card:{network}:receivable"


def source_account(payment: Payment) -> str:
    """Where a payment's money comes from: the customer's purse, or the card network's receivable."""
    if payment.method == "purse":
        assert payment.customer_id is not None
        return purse_code(payment.customer_id)
    assert payment.card_network is not None
    return receivable_account(payment.card_network)


def capture_postings(payment: Payment, amount: int) -> tuple[Posting, ...]:
    """Source Dr ``amount``; merchant balance Cr the net; Kleline's commission Cr the fee and its introductions Cr
    the introduction fee (each when not zero)."""
    fee = commission(amount, 0, payment.fee_bps)
    intro = commission(amount, 0, payment.intro_fee_bps)
    currency = payment.amount.currency
    legs = [
        debit(source_account(payment), Money(amount, currency)),
        credit(balance_account(payment.merchant_id), Money(amount - fee - intro, currency)),
    ]
    if fee:
        legs.append(credit(COMMISSION_ACCOUNT, Money(fee, currency)))
    if intro:
        legs.append(credit(INTRODUCTIONS_ACCOUNT, Money(intro, currency)))
    return tuple(legs)


def refund_postings(payment: Payment, split: RefundSplit) -> tuple[Posting, ...]:
    """The capture reversed pro rata: merchant Dr its share, commission Dr the fee returned, introductions Dr the
    introduction fee returned, source Cr the whole.

    Each fee is returned by its own before-minus-after rule, so a cent refunded may give back a cent of each (13
    cents at 4 % and 20 %: fees 1 and 3 before, 0 and 2 after): the merchant's share is then negative and its
    balance is credited the difference, as its net (captured - refunded - both fees) says it should."""
    currency = payment.amount.currency
    legs = []
    if split.from_merchant > 0:
        legs.append(debit(balance_account(payment.merchant_id), Money(split.from_merchant, currency)))
    elif split.from_merchant < 0:
        legs.append(credit(balance_account(payment.merchant_id), Money(-split.from_merchant, currency)))
    if split.fee_returned:
        legs.append(debit(COMMISSION_ACCOUNT, Money(split.fee_returned, currency)))
    if split.intro_fee_returned:
        legs.append(debit(INTRODUCTIONS_ACCOUNT, Money(split.intro_fee_returned, currency)))
    legs.append(credit(source_account(payment), Money(split.amount, currency)))
    return tuple(legs)
