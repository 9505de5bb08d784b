"""The wallet's overview reads its figures as one statement and its lists in one round trip: what each read says is
what the service's own call says, for a customer in debt (whose receivable this process may or may not have met
yet) and for one who never had a bank account (no receivable at all: nothing owed)."""

from __future__ import annotations

from kleline.bootstrap import Kleline
from kleline.db.engine import one_row_reads
from kleline.money import Money

from ...conftest import FakeClock
from .conftest import build_kleline, customer
from .test_receivables import card_top_up, in_debt


def _page_reads(kleline: Kleline, customer_id: str) -> list[object]:
    ada = kleline.customers.get(customer_id)
    figures = one_row_reads(
        kleline.top_ups.standing_read(ada),
        kleline.collections.debts.owed_read(customer_id),
        kleline.inbox.unread_read(customer_id),
    )
    with kleline.db.transaction(write=False) as tx:
        return tx.read_all(
            figures,
            kleline.cards.list_read(customer_id),
            kleline.collections.bank_accounts.list_read(customer_id),
            kleline.payments.activity_read(customer_id, limit=5),
        )


def _one_by_one(kleline: Kleline, customer_id: str) -> list[object]:
    ada = kleline.customers.get(customer_id)
    return [
        [kleline.top_ups.standing(ada), kleline.collections.debts.owed(customer_id), kleline.inbox.unread(customer_id)],
        kleline.cards.list(customer_id),
        kleline.collections.bank_accounts.list(customer_id),
        kleline.payments.activity(customer_id, limit=5),
    ]


def test_a_customer_in_debt_reads_the_same_together_whether_or_not_the_receivable_was_met(
    kleline: Kleline, database_url: str, clock: FakeClock
) -> None:
    ada, _ = in_debt(kleline, 1500)
    card_top_up(kleline, ada, 700)
    together = _page_reads(kleline, ada)
    assert together == _one_by_one(kleline, ada)
    [standing, owed, unread] = together[0]  # type: ignore[misc]
    assert (standing.balance, owed, unread) == (Money(700, "EUR"), Money(1500, "EUR"), 0)
    fresh = build_kleline(database_url, clock)  # a process that never looked the receivable up: read by its code
    try:
        assert _page_reads(fresh, ada) == together
    finally:
        fresh.close()


def test_a_customer_without_a_bank_account_owes_nothing(kleline: Kleline) -> None:
    grace = customer(kleline, "grace@example.org")
    together = _page_reads(kleline, grace)
    assert together == _one_by_one(kleline, grace)
    assert together[0][1] == Money(0, "EUR")  # type: ignore[index]
