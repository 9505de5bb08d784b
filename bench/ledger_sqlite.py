"""SQLite: our ledger beside the same statements run through raw ``sqlite3``, one per commit and batched.

The reference opens its connection exactly as Kleline does (WAL, ``synchronous=NORMAL``, foreign keys, the same
schema and triggers) and runs, per transfer, the statements the ledger runs: advance a chain, insert the two
postings (one statement), insert the entry, move the two balance slots (one statement). It does nothing else: no
validation, no content hash, no idempotency.
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import PHASES, ROUNDS, Report, section
from bench.databases import migrated_sqlite
from bench.ledger_setup import BATCH_SIZE, UNIFORM, TransferSource, open_books
from kleline.db.engine import Database, link_hash
from kleline.ledger import Ledger
from kleline.ledger.store import ADVANCE_CHAIN, INSERT_LINKED_ENTRY, SLOTS, insert_postings, move_balances

SECONDS = float(os.environ.get("KLELINE_BENCH_SECONDS", "5")) / 2


def _books(path: Path) -> Ledger:
    db = Database(migrated_sqlite(path), pool_size=1)
    ledger = Ledger(db, chain_shards=16)
    ledger.prepare()
    open_books(ledger)
    return ledger


class RawTransfers:
    """The ledger's statements for one transfer, through raw sqlite3."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=60000"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.connection.create_function("kleline_link", 2, link_hash, deterministic=True)
        ids = dict(self.connection.execute("SELECT code, id FROM ledger_accounts").fetchall())
        self.sources = [ids[c] for c in UNIFORM[0]]
        self.targets = [ids[c] for c in UNIFORM[1]]
        self.random = random.Random(7)
        self.count = 0
        self.prefix = f"raw_{os.getpid()}_{time.time_ns()}_"

    def statements(self) -> None:
        self.count += 1
        entry_id = f"{self.prefix}{self.count}"
        amount = self.random.randint(1, 10_000)
        source, target = self.random.choice(self.sources), self.random.choice(self.targets)
        shard = self.random.randrange(16)
        execute = self.connection.execute
        execute(ADVANCE_CHAIN, {"content_hash": b"\x01" * 32, "shard": shard})
        execute(insert_postings(2), (entry_id, 0, source, "EUR", amount, entry_id, 1, target, "EUR", -amount))
        execute(
            INSERT_LINKED_ENTRY,
            {
                "id": entry_id,
                "posted_at": 0,
                "description": "",
                "metadata": "{}",
                "content_hash": b"\x01" * 32,
                "shard": shard,
            },
        )
        slot = self.random.randrange(SLOTS)
        execute(move_balances(2), [v for a in sorted((source, target)) for v in (a, slot, amount, 0)])

    def one_per_commit(self) -> int:
        self.connection.execute("BEGIN IMMEDIATE")
        self.statements()
        self.connection.execute("COMMIT")
        return 1

    def batched(self) -> int:
        self.connection.execute("BEGIN IMMEDIATE")
        for _ in range(BATCH_SIZE):
            self.statements()
        self.connection.execute("COMMIT")
        return BATCH_SIZE


def _rate(step: Callable[[], int]) -> float:
    done, began = 0, time.perf_counter()
    deadline = began + SECONDS
    while time.perf_counter() < deadline:
        done += step()
    elapsed = time.perf_counter() - began
    PHASES.add(elapsed)
    return done / elapsed


def run(report: Report) -> None:
    section("SQLite: ledger vs the same statements through raw sqlite3")
    with tempfile.TemporaryDirectory(prefix="kleline-bench-") as folder:
        ours = _books(Path(folder) / "ours.db")
        _books(Path(folder) / "raw.db").db.dispose()
        raw = RawTransfers(Path(folder) / "raw.db")
        transfers = TransferSource(UNIFORM, 1)

        def post_one() -> int:
            ours.post(transfers.next())
            return 1

        def post_batch() -> int:
            results = ours.post_batch([transfers.next() for _ in range(BATCH_SIZE)])
            return sum(1 for r in results if r.ok)

        figures: dict[str, list[float]] = {}
        for _ in range(ROUNDS):
            figures.setdefault("raw sqlite3, one transfer per commit", []).append(_rate(raw.one_per_commit))
            figures.setdefault("ledger, one transfer per commit", []).append(_rate(post_one))
            figures.setdefault(f"raw sqlite3, batched loop ({BATCH_SIZE} per commit)", []).append(_rate(raw.batched))
            figures.setdefault(f"ledger batch call ({BATCH_SIZE} per commit)", []).append(_rate(post_batch))
        medians = {name: report.figure(name, rounds, "transfers/s") for name, rounds in figures.items()}
        report.ratio(
            "sqlite-one-per-commit",
            medians["ledger, one transfer per commit"],
            medians["raw sqlite3, one transfer per commit"],
            goal=0.7,
        )
        report.ratio(
            "sqlite-batched",
            medians[f"ledger batch call ({BATCH_SIZE} per commit)"],
            medians[f"raw sqlite3, batched loop ({BATCH_SIZE} per commit)"],
            goal=3,
        )
        raw.connection.close()
        ours.db.dispose()
