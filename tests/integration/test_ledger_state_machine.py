"""Property: any sequence of entries, holds, commits, voids, expiries and batches keeps the books right.

After every step: each currency sums to zero, no floored account is below its floor, every stored balance equals
the sum of its postings, and each balance equals what a plain Python model of the same steps predicts.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from kleline.db.engine import Database
from kleline.db.migrate import upgrade
from kleline.ledger import (
    EntryRequest,
    HoldNotPending,
    HoldRequest,
    InsufficientFunds,
    Ledger,
    NormalSide,
    Posting,
)
from kleline.ledger.audit import trial_balance, verify

from ..conftest import FakeClock, create_database_url, drop_database

RUNS = itertools.count()
AMOUNTS = st.integers(min_value=1, max_value=5_000)


def machine_for(ledger: Ledger, clock: FakeClock) -> type[RuleBasedStateMachine]:
    class LedgerMachine(RuleBasedStateMachine):
        holds = Bundle("holds")

        def __init__(self) -> None:
            super().__init__()
            run = next(RUNS)
            self.source = f"card:run{run}:receivable"  # unconstrained, debit-normal
            self.purses = [f"customer:run{run}c{i}:purse" for i in range(3)]  # floor 0, credit-normal
            self.revenue = f"kleline:run{run}:commission"  # unconstrained, credit-normal
            ledger.open_account(self.source, "EUR", NormalSide.DEBIT)
            ledger.open_account(self.revenue, "EUR", NormalSide.CREDIT)
            for purse in self.purses:
                ledger.open_account(purse, "EUR", NormalSide.CREDIT, floor=0)
            self.posted = {code: 0 for code in [self.source, self.revenue, *self.purses]}
            self.held = dict.fromkeys(self.posted, 0)
            self.ids = itertools.count()

        def _new_id(self, kind: str) -> str:
            return f"{kind}_{self.source.split(':')[1]}_{next(self.ids)}"

        def _apply(self, postings: tuple[Posting, ...]) -> None:
            for p in postings:
                side = -1 if p.account != self.source else 1
                self.posted[p.account] += side * p.amount

        def _spendable(self, purse: str) -> int:
            return self.posted[purse] - self.held[purse]

        def _pay(self, purse: str, amount: int, target: str) -> tuple[Posting, ...]:
            return (Posting(purse, amount, "EUR"), Posting(target, -amount, "EUR"))

        @rule(purse=st.integers(0, 2), amount=AMOUNTS)
        def top_up(self, purse: int, amount: int) -> None:
            postings = (Posting(self.source, amount, "EUR"), Posting(self.purses[purse], -amount, "EUR"))
            ledger.post(EntryRequest(self._new_id("top"), postings))
            self._apply(postings)

        @rule(source=st.integers(0, 2), to=st.integers(0, 3), amount=AMOUNTS)
        def pay(self, source: int, to: int, amount: int) -> None:
            purse = self.purses[source]
            receiver = self.revenue if to == 3 or to == source else self.purses[to]
            postings = self._pay(purse, amount, receiver)
            try:
                ledger.post(EntryRequest(self._new_id("pay"), postings))
            except InsufficientFunds:
                assert amount > self._spendable(purse)
                return
            assert amount <= self._spendable(purse)
            self._apply(postings)

        @rule(target=holds, purse=st.integers(0, 2), amount=AMOUNTS, hours=st.integers(1, 48))
        def hold(self, purse: int, amount: int, hours: int) -> tuple[str, str, int] | None:
            code = self.purses[purse]
            hold_id = self._new_id("hold")
            try:
                ledger.hold(
                    HoldRequest(hold_id, self._pay(code, amount, self.revenue), clock.now + timedelta(hours=hours))
                )
            except InsufficientFunds:
                assert amount > self._spendable(code)
                return None
            assert amount <= self._spendable(code)
            self.held[code] += amount
            return hold_id, code, amount

        @rule(handle=consumes(holds), share=st.integers(1, 100))
        def commit(self, handle: tuple[str, str, int] | None, share: int) -> None:
            if handle is None:
                return
            hold_id, code, amount = handle
            taken = max(1, amount * share // 100)
            postings = self._pay(code, taken, self.revenue)
            try:
                ledger.commit(hold_id, postings=postings)
            except HoldNotPending:
                return  # expired by the sweep, or by time, before this commit
            self.held[code] -= amount
            self._apply(postings)

        @rule(handle=consumes(holds))
        def void(self, handle: tuple[str, str, int] | None) -> None:
            if handle is None:
                return
            hold_id, code, amount = handle
            try:
                ledger.void(hold_id)
            except HoldNotPending:
                return
            self.held[code] -= amount

        @rule(hours=st.integers(1, 30))
        def time_passes_and_the_sweep_runs(self, hours: int) -> None:
            clock.advance(hours=hours)
            for hold_id in ledger.expire_holds():
                hold = ledger.get_hold(hold_id)
                for code, amount in hold.reserved.items():
                    if code in self.held:
                        self.held[code] -= amount

        @rule(moves=st.lists(st.tuples(st.integers(0, 2), AMOUNTS), min_size=1, max_size=6))
        def batch(self, moves: list[tuple[int, int]]) -> None:
            requests = [EntryRequest(self._new_id("bat"), self._pay(self.purses[p], a, self.revenue)) for p, a in moves]
            results = ledger.post_batch(requests)
            for request, result in zip(requests, results, strict=True):
                purse, amount = request.postings[0].account, request.postings[0].amount
                if result.ok:
                    assert amount <= self._spendable(purse)
                    self._apply(request.postings)
                else:
                    assert isinstance(result.error, InsufficientFunds)
                    assert amount > self._spendable(purse)

        @invariant()
        def balances_match_the_model_and_floors_hold(self) -> None:
            for code, posted in self.posted.items():
                balance = ledger.balance(code)
                assert (balance.posted, balance.held) == (posted, self.held[code]), code
                if balance.floor is not None:
                    assert balance.available >= balance.floor

        @invariant()
        def every_currency_sums_to_zero(self) -> None:
            assert trial_balance(ledger.db).balanced

        def teardown(self) -> None:
            report = verify(ledger.db)
            assert report.ok, report.problems

    return LedgerMachine


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_any_sequence_of_ledger_operations_keeps_the_books_right(backend: str, tmp_path: Path) -> None:
    url, name = create_database_url(backend, tmp_path)
    db = Database(url)
    try:
        upgrade(db)
        clock = FakeClock()
        ledger = Ledger(db, clock=clock, chain_shards=4)
        ledger.prepare()
        machine = machine_for(ledger, clock)
        machine.TestCase.settings = settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        machine.TestCase().runTest()
    finally:
        db.dispose()
        drop_database(name)
