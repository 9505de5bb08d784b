"""``Ledger.post_in`` and ``hold_in``: the ledger's writes inside a caller's transaction commit or vanish with it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kleline.ledger import HoldRequest, HoldStatus, InsufficientFunds, Ledger, credit, debit
from kleline.ledger.audit import trial_balance, verify

from ..conftest import FakeClock
from .helpers import book_snapshot, eur, open_chart, transfer

PURSE = "customer:cus_1:purse"
CARDS = "card:visa:receivable"
MERCHANT = "merchant:mer_1:balance"


class Rollback(Exception):
    """The caller's own work failed after the ledger's write."""


@pytest.fixture
def funded(ledger: Ledger) -> Ledger:
    open_chart(ledger)
    ledger.post(transfer("ent_topup", CARDS, PURSE, 5000))
    return ledger


def test_an_entry_posted_in_a_transaction_commits_with_it(funded: Ledger) -> None:
    with funded.db.transaction() as tx:
        entry = funded.post_in(tx, transfer("ent_pay", PURSE, MERCHANT, 1200))
    assert entry.id == "ent_pay"
    assert funded.balance(PURSE).posted == 3800
    assert funded.balance(MERCHANT).posted == 1200
    assert funded.entry("ent_pay").postings == entry.postings
    assert verify(funded.db).ok


def test_an_entry_posted_in_a_transaction_that_rolls_back_leaves_no_trace(funded: Ledger) -> None:
    before = book_snapshot(funded.db)
    with pytest.raises(Rollback), funded.db.transaction() as tx:
        funded.post_in(tx, transfer("ent_pay", PURSE, MERCHANT, 1200))
        raise Rollback
    assert book_snapshot(funded.db) == before
    assert funded.balance(PURSE).posted == 5000
    assert verify(funded.db).ok


def test_an_entry_the_floor_refuses_raises_insufficient_funds_and_writes_nothing(funded: Ledger) -> None:
    before = book_snapshot(funded.db)
    with pytest.raises(InsufficientFunds), funded.db.transaction() as tx:
        funded.post_in(tx, transfer("ent_pay", PURSE, MERCHANT, 5001))
    assert book_snapshot(funded.db) == before
    assert trial_balance(funded.db).balanced


def test_a_hold_placed_in_a_transaction_reserves_with_it_and_vanishes_with_it(funded: Ledger, clock: FakeClock) -> None:
    request = HoldRequest(
        "hold_1", (debit(PURSE, eur(3000)), credit(MERCHANT, eur(3000))), clock.now + timedelta(days=1)
    )
    with pytest.raises(Rollback), funded.db.transaction() as tx:
        funded.hold_in(tx, request)
        raise Rollback
    assert funded.balance(PURSE).held == 0
    with funded.db.transaction() as tx:
        funded.hold_in(tx, request)
    assert funded.balance(PURSE).available == 2000
    assert funded.get_hold("hold_1").status is HoldStatus.PENDING
    with pytest.raises(InsufficientFunds), funded.db.transaction() as tx:
        funded.hold_in(tx, HoldRequest("hold_2", request.postings, request.expires_at))
    assert funded.balance(PURSE).available == 2000
