"""``Ledger.post_batch_in`` and ``Ledger.balances``: a batch inside a caller's transaction commits or vanishes with
it, each entry judged on its own; many balances read at once."""

from __future__ import annotations

import pytest

from kleline.ledger import InsufficientFunds, Ledger, UnknownAccount
from kleline.ledger.audit import trial_balance, verify

from .helpers import book_snapshot, open_chart, transfer

CARDS = "card:visa:receivable"
PURSES = ("customer:cus_1:purse", "customer:cus_2:purse")
MERCHANT = "merchant:mer_1:balance"


class Rollback(Exception):
    """The caller's own work failed after the ledger's write."""


@pytest.fixture
def funded(ledger: Ledger) -> Ledger:
    open_chart(ledger)
    ledger.post(transfer("ent_topup_1", CARDS, PURSES[0], 5000))
    ledger.post(transfer("ent_topup_2", CARDS, PURSES[1], 300))
    return ledger


def test_a_batch_in_a_transaction_commits_with_it_each_entry_judged_on_its_own(funded: Ledger) -> None:
    with funded.db.transaction() as tx:
        results = funded.post_batch_in(
            tx,
            [
                transfer("ent_a", PURSES[0], MERCHANT, 1200),
                transfer("ent_b", PURSES[1], MERCHANT, 301),  # one cent more than the purse holds
                transfer("ent_c", PURSES[1], MERCHANT, 300),
                transfer("ent_topup_1", CARDS, PURSES[0], 5000),  # already in the books: a replay
            ],
        )

    assert [r.ok for r in results] == [True, False, True, True]
    assert isinstance(results[1].error, InsufficientFunds)
    assert funded.balance(MERCHANT).posted == 1500
    assert funded.balance(PURSES[1]).posted == 0
    assert verify(funded.db).ok and trial_balance(funded.db).balanced


def test_a_batch_in_a_transaction_that_rolls_back_leaves_no_trace(funded: Ledger) -> None:
    before = book_snapshot(funded.db)
    with pytest.raises(Rollback), funded.db.transaction() as tx:
        funded.post_batch_in(tx, [transfer("ent_a", PURSES[0], MERCHANT, 1200)])
        raise Rollback
    assert book_snapshot(funded.db) == before
    # The same id posts afterwards: nothing of it was kept.
    assert funded.post_batch([transfer("ent_a", PURSES[0], MERCHANT, 1200)])[0].ok
    assert verify(funded.db).ok


def test_balances_reads_many_accounts_at_once_and_names_an_unknown_one(funded: Ledger) -> None:
    balances = funded.balances([*PURSES, MERCHANT, CARDS])

    assert {code: b.posted for code, b in balances.items()} == {
        PURSES[0]: 5000,
        PURSES[1]: 300,
        MERCHANT: 0,
        CARDS: 5300,
    }
    assert balances[PURSES[0]] == funded.balance(PURSES[0])
    assert funded.balances([]) == {}
    with pytest.raises(UnknownAccount):
        funded.balances([MERCHANT, "merchant:mer_404:balance"])
