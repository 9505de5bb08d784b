"""Fixtures of the payment stories: Kleline on a fresh database, a merchant, customers with funded purses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyotp
import pytest

from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.config import load_settings
from kleline.ledger import EntryRequest, NormalSide, credit, debit
from kleline.money import Money
from kleline.wallet.customers import purse_code

from ...conftest import FakeClock
from ...operator_keys import OPERATOR

IBAN = "FR1420041010050500013M02606"


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


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def merchant(kleline: Kleline, *, fee_bps: int = 350, name: str = "Librairie Kléber") -> str:
    """An approved merchant at ``fee_bps``."""
    registered, _ = kleline.merchants.register(name=name, email="shop@example.fr", iban=IBAN, fee_bps=fee_bps)
    return kleline.merchants.approve(registered.id, actor=OPERATOR).id


@dataclass
class Shopper:
    id: str
    totp: pyotp.TOTP | None = None


def shopper(kleline: Kleline, *, purse: int = 0, email: str = "ada@example.org", enrol: bool = False) -> Shopper:
    """A customer whose purse holds ``purse`` cents (booked as a card top-up)."""
    customer = kleline.customers.sign_up(email, "correct horse battery staple", "Ada")
    if purse:
        kleline.ledger.post(
            EntryRequest(
                f"fund-{customer.id}",
                (debit("card:visa:receivable", eur(purse)), credit(purse_code(customer.id), eur(purse))),
                "purse top-up by card",
            )
        )
    found = Shopper(customer.id)
    if enrol:
        enrolment = kleline.strong_auth.enrol(customer.id, email)
        found.totp = pyotp.parse_uri(enrolment.provisioning_uri)  # type: ignore[assignment]
    return found


def balance(kleline: Kleline, code: str) -> int:
    """An account's posted balance on its normal side."""
    return kleline.ledger.balance(code).posted
