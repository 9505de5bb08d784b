"""Fixtures of the statement stories: Kleline on a fresh database with its own accounts, and the ways money moves
on a merchant's balance (payments, refunds, and payouts booked as the settlement run and the bank statement book
them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.config import load_settings
from kleline.ledger import Entry, EntryRequest, NormalSide, credit, debit
from kleline.merchants.model import balance_account
from kleline.payments.model import PaymentRequest

from ...conftest import FakeClock
from ..payments.conftest import eur

__all__ = ["pay", "pay_out_on_statement", "return_payout", "send_payout"]


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline built on a migrated, empty database, with its own accounts open."""
    system = build(load_settings(database_url=database_url), clock=clock)
    open_system_accounts(system)
    system.ledger.open_account("card:visa:receivable", "EUR", NormalSide.DEBIT)
    try:
        yield system
    finally:
        system.close()


def pay(kleline: Kleline, shop: str, customer: str, minor: int, *, reference: str | None = None) -> str:
    """A purse payment of ``minor`` cents, captured at once; its id."""
    payment = kleline.payments.create(shop, PaymentRequest(eur(minor), description="Books", reference=reference))
    assert kleline.payments.confirm(payment.id, customer, "purse").status == "succeeded"
    return payment.id


def send_payout(kleline: Kleline, shop: str, minor: int, payout_id: str) -> Entry:
    """A payout as the settlement run books it: merchant balance Dr / bank in-transit Cr, named in its metadata."""
    return kleline.ledger.post(
        EntryRequest(
            f"{payout_id}:sent",
            (debit(balance_account(shop), eur(minor)), credit(kleline.own_account.in_transit_code, eur(minor))),
            "payout sent",
            {"payout": payout_id, "merchant": shop, "settlement_run": "sr_test"},
        )
    )


def pay_out_on_statement(kleline: Kleline, shop: str, minor: int, payout_id: str) -> Entry:
    """The bank statement shows the transfer leaving: in-transit Dr / safeguarding Cr (the merchant's balance is
    not touched)."""
    account = kleline.own_account
    return kleline.ledger.post(
        EntryRequest(
            f"{payout_id}:paid",
            (debit(account.in_transit_code, eur(minor)), credit(account.safeguarding_code, eur(minor))),
            "payout paid",
            {"payout": payout_id, "merchant": shop, "settlement_run": "sr_test", "statement_line": "L1"},
        )
    )


def return_payout(kleline: Kleline, shop: str, minor: int, payout_id: str) -> Entry:
    """The merchant's bank sent the transfer back: safeguarding Dr / merchant balance Cr."""
    return kleline.ledger.post(
        EntryRequest(
            f"{payout_id}:returned",
            (debit(kleline.own_account.safeguarding_code, eur(minor)), credit(balance_account(shop), eur(minor))),
            "payout returned",
            {"payout": payout_id, "merchant": shop, "settlement_run": "sr_test", "return_reason": "AC04"},
        )
    )
