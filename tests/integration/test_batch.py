"""The batch call: many entries in one transaction, each accepted or refused on its own."""

import pytest

from kleline.ledger import (
    CurrencyMismatch,
    EntryConflict,
    EntryRequest,
    InsufficientFunds,
    Ledger,
    Posting,
    UnknownAccount,
)
from kleline.ledger.audit import verify

from .helpers import open_chart, transfer

PURSE = "customer:cus_1:purse"
CARDS = "card:visa:receivable"
MERCHANT = "merchant:mer_1:balance"


def test_each_entry_of_a_batch_stands_or_falls_on_its_own_in_order(ledger: Ledger) -> None:
    open_chart(ledger)
    results = ledger.post_batch(
        [
            transfer("b1", CARDS, PURSE, 1000),
            transfer("b2", PURSE, MERCHANT, 600),
            transfer("b3", PURSE, MERCHANT, 600),  # only 400 left: refused
            transfer("b4", "customer:cus_9:purse", MERCHANT, 1),  # unknown account: refused
            transfer("b5", PURSE, MERCHANT, 400),
        ]
    )
    assert [r.ok for r in results] == [True, True, False, False, True]
    assert isinstance(results[2].error, InsufficientFunds)
    assert isinstance(results[3].error, UnknownAccount)
    assert ledger.balance(PURSE).posted == 0
    assert ledger.balance(MERCHANT).posted == 1000
    report = verify(ledger.db)
    assert report.ok, report.problems
    assert report.entries == 3


def test_a_batch_entry_in_another_currency_than_its_known_accounts_is_refused_alone(ledger: Ledger) -> None:
    """Accounts already known to the ledger are looked up without the cache's call per entry: the currency check
    still runs on every posting."""
    open_chart(ledger)
    ledger.post(transfer("warm", CARDS, PURSE, 100))  # both accounts now cached
    in_dollars = EntryRequest("usd", (Posting(CARDS, 50, "USD"), Posting(PURSE, -50, "USD")))
    results = ledger.post_batch([transfer("b1", CARDS, PURSE, 10), in_dollars, transfer("b3", CARDS, PURSE, 20)])
    assert [r.ok for r in results] == [True, False, True]
    assert isinstance(results[1].error, CurrencyMismatch)
    assert ledger.balance(PURSE).posted == 130


def test_a_batch_replayed_applies_nothing_twice(ledger: Ledger) -> None:
    open_chart(ledger)
    batch = [transfer(f"b{i}", CARDS, PURSE, 100) for i in range(50)]
    first = ledger.post_batch(batch)
    again = ledger.post_batch(batch)
    assert all(r.ok for r in first + again)
    assert [r.entry.id for r in again if r.entry] == [f"b{i}" for i in range(50)]
    assert ledger.balance(PURSE).posted == 5000


def test_a_batch_reusing_an_id_with_other_content_refuses_only_that_entry(ledger: Ledger) -> None:
    open_chart(ledger)
    ledger.post(transfer("b1", CARDS, PURSE, 100))
    results = ledger.post_batch(
        [transfer("b1", CARDS, PURSE, 999), transfer("b2", CARDS, PURSE, 5), transfer("b2", CARDS, PURSE, 6)]
    )
    assert [r.ok for r in results] == [False, True, False]
    assert isinstance(results[0].error, EntryConflict)
    assert isinstance(results[2].error, EntryConflict)
    assert ledger.balance(PURSE).posted == 105


def test_a_batch_and_single_posts_share_the_books(ledger: Ledger) -> None:
    open_chart(ledger)
    ledger.post_batch([transfer(f"b{i}", CARDS, PURSE, 10) for i in range(20)])
    ledger.post(transfer("s1", PURSE, MERCHANT, 200))
    with pytest.raises(InsufficientFunds):
        ledger.post(transfer("s2", PURSE, MERCHANT, 1))
    assert verify(ledger.db).ok
