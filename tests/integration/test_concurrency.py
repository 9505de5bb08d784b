"""Concurrency on both backends: floors hold, no deadlock, no lost update, every snapshot read balances.

Threads share one Ledger (and its connection pool); processes each build their own, as API workers would.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from kleline.db.engine import Database
from kleline.ledger import InsufficientFunds, Ledger, NormalSide
from kleline.ledger.audit import trial_balance, verify

from .helpers import open_chart, transfer

PURSE = "customer:cus_1:purse"
CARDS = "card:visa:receivable"
MERCHANT = "merchant:mer_1:balance"
SPENDERS = 64


def _spend(url: str, index: int, amount: int) -> bool:
    """One spend from the purse in a process of its own; True if it went through."""
    db = Database(url, pool_size=1)
    try:
        ledger = Ledger(db, chain_shards=4)
        try:
            ledger.post(transfer(f"spend_{index}", PURSE, MERCHANT, amount))
            return True
        except InsufficientFunds:
            return False
    finally:
        db.dispose()


@pytest.mark.parametrize("balance, amount", [(1000, 70), (6400, 100)])
def test_64_concurrent_spends_from_threads_never_cross_the_floor(ledger: Ledger, balance: int, amount: int) -> None:
    open_chart(ledger)
    ledger.post(transfer("topup", CARDS, PURSE, balance))
    barrier = threading.Barrier(SPENDERS)

    def spend(index: int) -> bool:
        barrier.wait()
        try:
            ledger.post(transfer(f"spend_{index}", PURSE, MERCHANT, amount))
            return True
        except InsufficientFunds:
            return False

    with ThreadPoolExecutor(SPENDERS) as pool:
        outcomes = list(pool.map(spend, range(SPENDERS)))
    assert sum(outcomes) == min(SPENDERS, balance // amount)
    assert ledger.balance(PURSE).posted == balance - sum(outcomes) * amount >= 0
    assert verify(ledger.db).ok


def test_64_concurrent_spends_from_processes_never_cross_the_floor(ledger: Ledger, database_url: str) -> None:
    open_chart(ledger)
    ledger.post(transfer("topup", CARDS, PURSE, 1000))
    context = multiprocessing.get_context("spawn")
    with context.Pool(8) as pool:
        outcomes = pool.starmap(_spend, [(database_url, i, 70) for i in range(SPENDERS)])
    assert sum(outcomes) == 1000 // 70
    assert ledger.balance(PURSE).posted == 1000 - 14 * 70
    assert verify(ledger.db).ok


def test_opposite_transfers_at_once_do_not_deadlock(ledger: Ledger) -> None:
    ledger.open_account("customer:a:purse", "EUR", NormalSide.CREDIT, floor=0)
    ledger.open_account("customer:b:purse", "EUR", NormalSide.CREDIT, floor=0)
    ledger.open_account("card:visa:receivable", "EUR", NormalSide.DEBIT)
    ledger.post(transfer("fund_a", CARDS, "customer:a:purse", 100_000))
    ledger.post(transfer("fund_b", CARDS, "customer:b:purse", 100_000))

    def move(index: int) -> None:
        source, target = (
            ("customer:a:purse", "customer:b:purse") if index % 2 else ("customer:b:purse", "customer:a:purse")
        )
        ledger.post(transfer(f"swap_{index}", source, target, 1 + index % 7))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(move, range(400)))  # a deadlock would raise (PostgreSQL) or hang past the test timeout
    total = ledger.balance("customer:a:purse").posted + ledger.balance("customer:b:purse").posted
    assert total == 200_000
    assert verify(ledger.db).ok


def test_bank_of_8_accounts_every_snapshot_read_sums_to_the_total(ledger: Ledger) -> None:
    """Jepsen's bank test: concurrent transfers between 8 floored accounts, concurrent reads of all balances."""
    accounts = [f"customer:acct{i}:purse" for i in range(8)]
    ledger.open_account(CARDS, "EUR", NormalSide.DEBIT)
    for code in accounts:
        ledger.open_account(code, "EUR", NormalSide.CREDIT, floor=0)
    ledger.post_batch([transfer(f"fund_{code}", CARDS, code, 1000) for code in accounts])
    total = 8 * 1000
    stop = threading.Event()
    reads: list[int] = []
    negative: list[int] = []

    def reader() -> None:
        while not stop.is_set():
            with ledger.db.transaction(write=False, snapshot=True) as tx:
                rows = tx.fetchall(
                    "SELECT a.code, SUM(b.balance) FROM ledger_balances b JOIN ledger_accounts a "
                    "ON a.id = b.account_id WHERE a.code LIKE 'customer:acct%' GROUP BY a.code"
                )
            reads.append(sum(int(r[1]) for r in rows))
            negative.extend(int(r[1]) for r in rows if int(r[1]) < 0)

    def writer(seed: int) -> None:
        chooser = random.Random(seed)
        for n in range(60):
            source, target = chooser.sample(accounts, 2)
            try:
                ledger.post(transfer(f"t_{seed}_{n}", source, target, chooser.randint(1, 400)))
            except InsufficientFunds:
                pass

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for thread in readers:
        thread.start()
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(writer, range(6)))
    stop.set()
    for thread in readers:
        thread.join()
    assert reads and all(r == total for r in reads), sorted(set(reads))
    assert not negative
    assert trial_balance(ledger.db).balanced
    assert verify(ledger.db).ok


def test_concurrent_holds_and_commits_never_overdraw(ledger: Ledger, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from kleline.ledger import HoldNotPending, HoldRequest, credit, debit
    from kleline.money import Money

    open_chart(ledger)
    ledger.post(transfer("topup", CARDS, PURSE, 1000))

    def pay(index: int) -> str:
        amount = Money(90, "EUR")
        try:
            ledger.hold(
                HoldRequest(
                    f"hold_{index}", (debit(PURSE, amount), credit(MERCHANT, amount)), clock.now + timedelta(days=1)
                )
            )
        except InsufficientFunds:
            return "refused"
        try:
            if index % 3 == 0:
                ledger.void(f"hold_{index}")
                return "voided"
            ledger.commit(f"hold_{index}")
            return "committed"
        except HoldNotPending:
            return "lost"

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(pay, range(48)))
    balance = ledger.balance(PURSE)
    assert balance.held == 0
    assert balance.posted == 1000 - 90 * outcomes.count("committed") >= 0
    assert "lost" not in outcomes
    assert verify(ledger.db).ok
