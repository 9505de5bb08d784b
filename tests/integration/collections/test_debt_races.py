"""Direct debits and debts that arrive at the same moment: a return booked while the customer asks for another
direct debit must either be seen by that top-up (which is refused) or see the top-up's credit (and take it back).
Each test runs the two for real, in two threads and two transactions, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from kleline.bootstrap import Kleline
from kleline.collections import ReceivableOutstanding, receivable_code
from kleline.ledger.audit import trial_balance
from kleline.wallet.customers import purse_code

from ...operator_keys import OPERATOR
from .conftest import balance, bank_account, customer, eur, pay_from_purse, top_up


def test_a_direct_debit_asked_while_a_return_is_being_booked_waits_for_it_and_is_refused(kleline: Kleline) -> None:
    """The return is written but not committed when the top-up asks: the top-up must wait for the customer's lock
    and then see the debt, instead of reading the books before the return commits and crediting the purse anyway."""
    ada = customer(kleline)
    account = bank_account(kleline, ada)
    collection = top_up(kleline, ada, account.id, 2000)
    pay_from_purse(kleline, ada, 1500)
    kleline.collections.runs.run(actor=OPERATOR)
    booked = threading.Event()

    def book_the_return() -> None:
        with kleline.db.transaction() as tx:  # as reconciliation books a statement's return line
            found = kleline.collections.collection_by_end_to_end(tx, collection.id)
            assert found is not None
            kleline.collections.confirm_returned_in(tx, found, line_ref="stmt-1:1", reason="AM04")
            booked.set()
            time.sleep(1.0)  # the statement's other lines: the return is not committed yet

    with ThreadPoolExecutor(1) as pool:
        booking = pool.submit(book_the_return)
        assert booked.wait(10)
        with pytest.raises(ReceivableOutstanding):
            kleline.collections.top_ups.top_up(ada, eur(1000), account.id)
        booking.result()
    assert balance(kleline, receivable_code(ada)) == 1500
    assert balance(kleline, purse_code(ada)) == 0
    assert [c.id for c in kleline.collections.list(customer_id=ada)[0]] == [collection.id]
    assert trial_balance(kleline.db).balanced
