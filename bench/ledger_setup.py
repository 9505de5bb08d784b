"""The books the ledger benchmarks post to: card receivables paying into merchants' balances.

Each transfer debits an unconstrained asset account (``card:netN:receivable``) and credits a floored liability
(``merchant:merN:balance``): the shape of a card payment's capture. *Uniform* spreads transfers over 25 + 25
accounts; *hot* sends every transfer between the same two, the popular merchant that every payment credits.
"""

from __future__ import annotations

import itertools
import random
import secrets
from collections.abc import Callable

from kleline.db.engine import Database
from kleline.ledger import EntryRequest, Ledger, NormalSide, Posting

UNIFORM = ([f"card:net{i}:receivable" for i in range(25)], [f"merchant:mer{i}:balance" for i in range(25)])
HOT = (["card:hot:receivable"], ["merchant:hot:balance"])
BATCH_SIZE = 1000


def open_books(ledger: Ledger) -> None:
    """Open every account the benchmarks use."""
    for sources, targets in (UNIFORM, HOT):
        for code in sources:
            ledger.open_account(code, "EUR", NormalSide.DEBIT)
        for code in targets:
            ledger.open_account(code, "EUR", NormalSide.CREDIT, floor=0)


class TransferSource:
    """Fresh, valid transfer requests over a set of accounts, with ids unique across processes and rounds."""

    def __init__(self, accounts: tuple[list[str], list[str]], seed: int) -> None:
        self._sources, self._targets = accounts
        self._random = random.Random(seed)
        self._prefix = f"bench_{secrets.token_hex(4)}_{seed}_"
        self._counter = itertools.count()

    def next(self) -> EntryRequest:
        amount = self._random.randint(1, 10_000)
        return EntryRequest(
            f"{self._prefix}{next(self._counter)}",
            (
                Posting(self._random.choice(self._sources), amount, "EUR"),
                Posting(self._random.choice(self._targets), -amount, "EUR"),
            ),
        )


def _ledger(url: str) -> Ledger:
    ledger = Ledger(Database(url, pool_size=1), chain_shards=16)
    for code in [*UNIFORM[0], *UNIFORM[1], *HOT[0], *HOT[1]]:
        ledger.account(code)  # warm the account cache, as a long-running worker has it
    return ledger


def transfer_client(index: int, url: str, hot: bool) -> Callable[[], int]:
    """A client posting one transfer per transaction."""
    ledger = _ledger(url)
    transfers = TransferSource(HOT if hot else UNIFORM, index)

    def step() -> int:
        ledger.post(transfers.next())
        return 1

    return step


def batch_client(index: int, url: str) -> Callable[[], int]:
    """A client posting uniform transfers in batches of ``BATCH_SIZE``."""
    ledger = _ledger(url)
    transfers = TransferSource(UNIFORM, 1000 + index)

    def step() -> int:
        results = ledger.post_batch([transfers.next() for _ in range(BATCH_SIZE)])
        return sum(1 for r in results if r.ok)

    return step
