"""A confirmation reads its payment (locked) and the payment's merchant in one statement
(``PaymentBook.lock_with_merchant``): the same payment and merchant as read apart, whatever the merchant's malls,
the payment's row locked on PostgreSQL, and an unknown payment a ``NotFound``."""

from __future__ import annotations

import psycopg
import pytest

from kleline.bootstrap import Kleline
from kleline.errors import NotFound
from kleline.merchants.store import find_merchant
from kleline.money import Money
from kleline.payments.model import PaymentRequest

from ...operator_keys import OPERATOR
from .conftest import merchant


@pytest.mark.parametrize("malls", [0, 1, 2])
def test_the_payment_and_its_merchant_in_one_statement_are_those_read_apart(kleline: Kleline, malls: int) -> None:
    shop = merchant(kleline)
    for index in range(malls):
        mall = kleline.malls.create(f"Galerie {index}", f"galerie-{index}", actor=OPERATOR)
        kleline.malls.add_merchant(mall.id, shop, actor=OPERATOR)
    payment = kleline.payments.create(shop, PaymentRequest(Money(1250, "EUR"), description="Olive oil"))
    book = kleline.payments.book
    with kleline.db.transaction() as tx:
        locked, its_merchant = book.lock_with_merchant(tx, payment.id)
        assert locked == book.load(tx, payment.id)
        assert its_merchant == find_merchant(tx, shop)
        assert len(its_merchant.mall_ids) == malls
        with pytest.raises(NotFound):
            book.lock_with_merchant(tx, "pay_missing")


def test_the_payment_row_is_locked_until_the_transaction_ends(kleline: Kleline, database_url: str) -> None:
    if not kleline.db.is_postgres:
        pytest.skip("SQLite has one writer at a time: there is no row lock to take")
    shop = merchant(kleline)
    payment = kleline.payments.create(shop, PaymentRequest(Money(1250, "EUR")))
    with kleline.db.transaction() as tx:
        kleline.payments.book.lock_with_merchant(tx, payment.id)
        with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as other:
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT id FROM payments WHERE id = %s FOR UPDATE NOWAIT", (payment.id,))
            other.rollback()
            other.execute("SELECT id FROM merchants WHERE id = %s FOR UPDATE NOWAIT", (shop,))  # not locked
