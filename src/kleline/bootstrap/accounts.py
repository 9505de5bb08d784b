"""Kleline's own ledger accounts, opened at every start so that a fresh install needs no demo and no fixture.

Customers' purses and merchants' balances are opened with their owners; the accounts below belong to nobody but
Kleline, and a use case that posts to one that does not exist fails (a settlement run on a database made by
``kleline db upgrade`` alone once stopped at ``no account bank:SOGEFRPP:in-transit``). They are named by the
configuration (the safeguarding bank's BIC) and by the card schemes Kleline accepts, so ``build`` ensures them on
each start: a changed ``KLELINE_SAFEGUARDING_IBAN`` gets its bank's accounts before the first request. Opening is
idempotent and costs one read once they exist.
"""

from __future__ import annotations

from kleline.collections.model import BAD_DEBT_ACCOUNT
from kleline.ledger import Account, Ledger, NormalSide
from kleline.payments.postings import COMMISSION_ACCOUNT, INTRODUCTIONS_ACCOUNT, receivable_account
from kleline.reconciliation.postings import SUSPENSE_ACCOUNT
from kleline.sepa.model import OwnAccount
from kleline.wallet.cards import CardBrand
from kleline.wallet.customers import PURSE_CURRENCY

__all__ = ["ensure_system_accounts", "system_accounts"]


def system_accounts(own: OwnAccount, currency: str = PURSE_CURRENCY) -> list[Account]:
    """Every account Kleline itself posts to, in ``currency`` (the books' currency, the purse's)."""
    revenue_and_clearing = [
        Account(COMMISSION_ACCOUNT, currency, NormalSide.CREDIT),
        Account(INTRODUCTIONS_ACCOUNT, currency, NormalSide.CREDIT),  # introduction fees (issue 15)
        Account(SUSPENSE_ACCOUNT, currency, NormalSide.CREDIT),
        Account(BAD_DEBT_ACCOUNT, currency, NormalSide.DEBIT),  # debts written off: a loss
    ]
    # Money at the bank and owed by the card networks (assets): debit-normal, and with no floor, because a statement
    # may report a payout before the card settlement that funds it.
    bank = [
        Account(own.safeguarding_code, currency, NormalSide.DEBIT),
        Account(own.in_transit_code, currency, NormalSide.DEBIT),
    ]
    cards = [Account(receivable_account(brand.value), currency, NormalSide.DEBIT) for brand in CardBrand]
    return revenue_and_clearing + bank + cards


def ensure_system_accounts(ledger: Ledger, own: OwnAccount, currency: str = PURSE_CURRENCY) -> None:
    """Open whichever of Kleline's own accounts is missing (``AccountConflict`` if one exists in another shape)."""
    ledger.open_accounts(system_accounts(own, currency))
