"""Fixtures of the direct debit stories: Kleline on a fresh database, customers with bank accounts, and the bank's
answers (a statement line collecting or returning a collection) as reconciliation delivers them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.collections import BankAccount, Collection, DirectDebitTopUp
from kleline.config import load_settings
from kleline.ledger import Entry
from kleline.money import Money
from kleline.payments.model import PaymentRequest

from ...conftest import FakeClock
from ...operator_keys import OPERATOR

PASSWORD = "correct horse battery staple"
IBAN = "FR7630006000011234567890189"  # Crédit Agricole: the BIC is derived (AGRIFRPPXXX)
OTHER_IBAN = "DE89370400440532013000"


def build_kleline(database_url: str, clock: FakeClock, **settings: object) -> Kleline:
    """Kleline on the database, with its own accounts open (``settings`` override the defaults)."""
    system = build(load_settings(database_url=database_url, **settings), clock=clock)
    open_system_accounts(system)
    return system


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline built on a migrated, empty database, with its own accounts open."""
    system = build_kleline(database_url, clock)
    try:
        yield system
    finally:
        system.close()


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def customer(kleline: Kleline, email: str = "ada@example.org") -> str:
    """A new customer with an empty purse."""
    return kleline.customers.sign_up(email, PASSWORD, "Ada Lovelace").id


def bank_account(kleline: Kleline, customer_id: str, iban: str = IBAN) -> BankAccount:
    """A bank account registered by the customer, its mandate signed."""
    return kleline.collections.bank_accounts.register(customer_id, iban, "Ada Lovelace", mandate_accepted=True)


def top_up(kleline: Kleline, customer_id: str, account_id: str, minor: int) -> Collection:
    """A direct-debit top-up that succeeded (exempt from strong authentication); its collection."""
    done: DirectDebitTopUp = kleline.collections.top_ups.top_up(customer_id, eur(minor), account_id)
    assert done.top_up.status == "succeeded", done
    assert done.collection is not None
    return done.collection


def balance(kleline: Kleline, code: str) -> int:
    """An account's posted balance on its normal side."""
    return kleline.ledger.balance(code).posted


def collected(kleline: Kleline, collection_id: str, line_ref: str = "stmt-1:1") -> Entry:
    """The statement line that shows the collection credited, as reconciliation records it."""
    with kleline.db.transaction() as tx:
        collection = kleline.collections.collection_by_end_to_end(tx, collection_id)
        assert collection is not None
        return kleline.collections.confirm_collected_in(tx, collection, line_ref=line_ref, booked_on=date(2026, 1, 16))


def returned(kleline: Kleline, collection_id: str, line_ref: str = "stmt-1:2", reason: str = "AM04") -> Entry:
    """The statement line that returns the collection, as reconciliation records it."""
    with kleline.db.transaction() as tx:
        collection = kleline.collections.collection_by_end_to_end(tx, collection_id)
        assert collection is not None
        return kleline.collections.confirm_returned_in(tx, collection, line_ref=line_ref, reason=reason)


def pay_from_purse(kleline: Kleline, customer_id: str, minor: int) -> None:
    """The customer spends ``minor`` cents of the purse at a shop (a real purse payment, captured at once)."""
    shop, _ = kleline.merchants.register(name="Librairie Kléber", email="shop@example.fr", iban=OTHER_IBAN)
    kleline.merchants.approve(shop.id, actor=OPERATOR)
    payment = kleline.payments.create(shop.id, PaymentRequest(eur(minor)))
    assert kleline.payments.confirm(payment.id, customer_id, "purse").status == "succeeded"
