"""A small world for audiences and offers: Kleline built on the test database, a mall, shops and customers who
consent (or not) and buy through their purses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count

from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.config import load_settings
from kleline.ledger import EntryRequest, NormalSide, credit, debit
from kleline.money import Money
from kleline.payments.model import PaymentRequest
from kleline.wallet.customers import purse_code

from ...conftest import FakeClock
from ...operator_keys import OPERATOR

IBAN = "FR1420041010050500013M02606"
_numbers = count(1)


@contextmanager
def kleline_world(database_url: str, clock: FakeClock, **settings: object) -> Iterator[Kleline]:
    """Kleline on a migrated database, its own accounts open, with ``settings`` overridden; purse purchases up to
    2,000 EUR skip strong authentication (the stories here are about who bought, not how)."""
    quiet = {"sca_single_limit": 200_000, "sca_cumulative_limit": 10_000_000, "sca_max_payments": 1000}
    system = build(load_settings(database_url=database_url, **{**quiet, **settings}), clock=clock)
    open_system_accounts(system)
    system.ledger.open_account("card:visa:receivable", "EUR", NormalSide.DEBIT)
    try:
        yield system
    finally:
        system.close()


def mall(kleline: Kleline, slug: str = "rive-gauche") -> str:
    return kleline.malls.create(slug.replace("-", " ").title(), slug, actor=OPERATOR).id


def shop(kleline: Kleline, name: str, *, category: str | None = None, mall_ids: tuple[str, ...] = ()) -> str:
    """An approved merchant of ``category`` in ``mall_ids``."""
    registered, _ = kleline.merchants.register(
        name=name, email=f"shop{next(_numbers)}@example.fr", iban=IBAN, category=category, mall_ids=mall_ids
    )
    return kleline.merchants.approve(registered.id, actor=OPERATOR).id


def customer(kleline: Kleline, *, purse: int = 0) -> str:
    """A customer whose purse holds ``purse`` cents."""
    number = next(_numbers)
    found = kleline.customers.sign_up(f"c{number}@example.org", "correct horse battery staple", f"Client {number}")
    if purse:
        kleline.ledger.post(
            EntryRequest(
                f"fund-{found.id}",
                (debit("card:visa:receivable", Money(purse, "EUR")), credit(purse_code(found.id), Money(purse, "EUR"))),
                "purse top-up by card",
            )
        )
    return found.id


def buy(kleline: Kleline, merchant_id: str, customer_id: str, amount: int) -> str:
    """A purse purchase of ``amount`` cents, captured at once."""
    payment = kleline.payments.create(merchant_id, PaymentRequest(Money(amount, "EUR")))
    return kleline.payments.confirm(payment.id, customer_id, "purse").id
