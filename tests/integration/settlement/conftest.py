"""Fixtures of the settlement stories: Kleline on a fresh database with its own accounts, and funded merchants."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.config import load_settings
from kleline.ledger import EntryRequest, NormalSide, credit, debit
from kleline.ledger.audit import trial_balance
from kleline.merchants.model import balance_account
from kleline.money import Money

from ...conftest import FakeClock
from ...operator_keys import OPERATOR

TODAY = date(2026, 1, 15)
CARDS = "card:visa:receivable"
IBANS = (
    "FR1420041010050500013M02606",
    "DE89370400440532013000",
    "FR7630006000011234567890189",
    "NL91ABNA0417164300",
)


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline built on a migrated, empty database, with its own accounts and a card network's receivable open."""
    system = build(load_settings(database_url=database_url), clock=clock)
    open_system_accounts(system)
    system.ledger.open_account(CARDS, "EUR", NormalSide.DEBIT)
    try:
        yield system
    finally:
        system.close()


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def merchant(kleline: Kleline, name: str, *, iban: str = IBANS[0], approve: bool = True) -> str:
    """A registered merchant, approved unless told otherwise."""
    registered, _ = kleline.merchants.register(name=name, email="shop@example.fr", iban=iban)
    return kleline.merchants.approve(registered.id, actor=OPERATOR).id if approve else registered.id


def fund(kleline: Kleline, merchant_id: str, minor: int, *, entry_id: str | None = None) -> None:
    """Credit a merchant's balance as captured card payments would (card receivable Dr / merchant Cr)."""
    kleline.ledger.post(
        EntryRequest(
            entry_id or f"fund-{merchant_id}-{minor}",
            (debit(CARDS, eur(minor)), credit(balance_account(merchant_id), eur(minor))),
            "captured card payments",
        )
    )


def balance(kleline: Kleline, code: str) -> int:
    """An account's posted balance on its normal side."""
    return kleline.ledger.balance(code).posted


def balanced(kleline: Kleline) -> bool:
    """The trial balance: every entry sums to zero, so the books do."""
    return trial_balance(kleline.db).balanced
