"""Settlement of 10,000 merchants into one pain.001 file, beside the floor of the same job, same database, same run.

The books: 10,000 active merchants, each owed between 10.00 and 5,000.00 EUR (card payments captured, booked with
``Ledger.post_batch`` before each round, not measured). PostgreSQL on a fresh database, then SQLite on a file.
Each measured job runs in a process of its own, started and warmed up before its clock starts (while its books are
being funded, so that the start-up costs the bench no time of its own), which reports its
wall time, its own CPU time (the database's is not in it: on a busy machine the wall time grows, this does not) and
its peak memory (the growth of its resident set's high-water mark over what it held before the job, so that
libxml2's C allocations count as well as Python's):

- **settlement**: ``Settlement.run`` for a new period, as ``kleline settle`` runs it: the run row, the merchants
  scanned in id order in batches of 500 (their balances read, one transaction per batch with the payouts' ledger
  entries and rows), the pain.001 built from the stored payouts and XSD-checked, stored, the run completed.
- **the floor** (the reference): the same job with nothing but the parts it cannot do without, from the same
  building blocks: read the active merchants and their bank details, read their 10,000 balances
  (``Ledger.balances``), post the same 10,000 entries (merchant balance Dr / in-transit Cr) with ``post_batch`` in
  batches of 500, and write the same pain.001 with ``write_credit_transfers``. No run, no payout rows, no file
  stored, no crash safety: a crash half-way through it would leave merchants debited with no record of why.

Targets, and why these goals. ``settlement-10k`` (PostgreSQL) and ``settlement-10k-sqlite`` are floor time /
settlement time: what exactly-once under a crash costs on top of the unavoidable work. The payout rows double the
rows written, and the file is read back from the database and stored once more; we accept at most a third more time
than the floor (goal 0.75). ``settlement-10k-memory`` is the floor's peak / settlement's peak: building the file
from stored payouts must not hold much more than the floor holds to build it from memory (goal 0.75). Rounds
alternate which job goes first, and the figures are medians of the rounds.

Where the time goes (one settlement of 10,000 merchants on PostgreSQL timed statement by statement, 2026-12-07): in
both jobs alike, the ledger's batch statements (postings, entries and chain heads about 390 ms, the balance moves
about 220 ms, for 20 batches) and the pain.001 (sepaxml's ElementTree, then lxml for the XSD: CPU-bound Python);
settlement alone adds its payout rows (about 210 ms: one statement of 500 rows a batch) and stores the file.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import random
import secrets
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import psycopg

from bench.common import PHASES, ROUNDS, Report, section
from bench.databases import migrated_postgres, migrated_sqlite
from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.clock import Clock, epoch_us, system_clock
from kleline.config import load_settings
from kleline.ledger import Account, EntryRequest, NormalSide, Posting, credit, debit
from kleline.ledger.audit import trial_balance
from kleline.merchants.model import balance_account
from kleline.money import Money
from kleline.sepa import CreditTransfer, write_credit_transfers
from kleline.settlement import Settlement
from kleline.settlement.model import remittance
from kleline.staff.actor import command_line

MERCHANTS = int(os.environ.get("KLELINE_BENCH_MERCHANTS", "10000"))
BATCH = 500
FUNDED_PER_ENTRY = 100
CARDS = "card:visa:receivable"
IBANS = (
    ("FR1420041010050500013M02606", "PSSTFRPP"),
    ("DE89370400440532013000", "COBADEFFXXX"),
    ("FR7630006000011234567890189", "AGRIFRPPXXX"),
    ("NL91ABNA0417164300", "ABNANL2A"),
)


# --- the books ----------------------------------------------------------------------------------------------------


def _open_merchants(kleline: Kleline) -> list[str]:
    """MERCHANTS active merchants with their balance accounts. The merchant rows are inserted in one statement (the
    registration path hashes a key per merchant and would take minutes); the accounts open through the ledger, all
    in one transaction (``Ledger.open_accounts``)."""
    open_system_accounts(kleline)
    kleline.ledger.open_account(CARDS, "EUR", NormalSide.DEBIT)
    ids = [f"mer_bench{index:05d}{secrets.token_hex(11)}" for index in range(MERCHANTS)]
    at = epoch_us(datetime.now(UTC))
    with kleline.db.transaction() as tx:
        tx.executemany(
            "INSERT INTO merchants (id, name, email, iban, bic, fee_bps, status, created_at, status_changed_at) "
            "VALUES (:id, :name, :email, :iban, :bic, 350, 'active', :at, :at)",
            [
                {
                    "id": merchant_id,
                    "name": f"Boutique {index:05d}",
                    "email": f"shop{index}@bench.example",
                    "iban": IBANS[index % len(IBANS)][0],
                    "bic": IBANS[index % len(IBANS)][1],
                    "at": at,
                }
                for index, merchant_id in enumerate(ids)
            ],
        )
    kleline.ledger.open_accounts([Account(balance_account(m), "EUR", NormalSide.CREDIT, 0) for m in ids])
    return sorted(ids)


@functools.cache
def _sales(merchants: tuple[str, ...]) -> tuple[tuple[Posting, ...], ...]:
    """The postings of each funding entry: the card receivable debited by its merchants' total, each merchant
    credited; the same amounts every round, so built once."""
    amounts = random.Random(7)
    sales = []
    for start in range(0, len(merchants), FUNDED_PER_ENTRY):
        credits = []
        for merchant_id in merchants[start : start + FUNDED_PER_ENTRY]:
            credits.append(credit(balance_account(merchant_id), Money(amounts.randint(1_000, 500_000), "EUR")))
        owed = sum(-posting.amount for posting in credits)
        sales.append((debit(CARDS, Money(owed, "EUR")), *credits))
    return tuple(sales)


def _fund(kleline: Kleline, merchants: list[str], label: str) -> int:
    """Credit every merchant with captured card payments (the same amounts each round); the total.

    As a card scheme settles a day's captures: one entry per ``FUNDED_PER_ENTRY`` merchants (the card receivable
    debited by their total, each merchant credited), through ``Ledger.post_batch``, so that the set-up writes half
    the rows of one entry per merchant and the bench's time goes to the measured jobs."""
    requests = [
        EntryRequest(f"sales-{label}-{index * FUNDED_PER_ENTRY}", postings, "captured card payments")
        for index, postings in enumerate(_sales(tuple(merchants)))
    ]
    assert all(result.ok for result in kleline.ledger.post_batch(requests))
    return sum(request.postings[0].amount for request in requests)


# --- the measured jobs, each in a process of its own ------------------------------------------------------------


def _status(field: str) -> int:
    """A memory figure of this process from ``/proc/self/status``, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> int:
    """Reset the resident set's high-water mark (Linux 4.0+) and return the resident set now.

    Not ``getrusage``'s ``ru_maxrss``: it survives ``exec``, so a spawned child would report its parent's size at
    the fork."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return _status("VmRSS")


def _settle(kleline: Kleline, period: date) -> None:
    settlement = Settlement(
        kleline.db, kleline.ledger, kleline.own_account, clock=kleline.clock, minimum=1000, batch_size=BATCH
    )
    run = settlement.run(period, actor=command_line())
    assert run.status == "complete" and run.payout_count == MERCHANTS, run


def _floor(kleline: Kleline, period: date) -> None:
    bank = kleline.own_account
    with kleline.db.transaction(write=False) as tx:
        merchants = tx.fetchall("SELECT id, name, iban, bic FROM merchants WHERE status = 'active' ORDER BY id")
    balances = kleline.ledger.balances([balance_account(row[0]) for row in merchants])
    requests, transfers = [], []
    for merchant_id, name, iban, bic in merchants:
        money = Money(balances[balance_account(merchant_id)].available, "EUR")
        reference = f"po_{secrets.token_hex(16)}"
        requests.append(
            EntryRequest(
                f"{reference}:sent",
                (debit(balance_account(merchant_id), money), credit(bank.in_transit_code, money)),
                "payout sent",
                {"payout": reference, "merchant": merchant_id},
            )
        )
        transfers.append(CreditTransfer(reference, money, name, iban, bic, remittance(period)))
    for start in range(0, len(requests), BATCH):
        assert all(result.ok for result in kleline.ledger.post_batch(requests[start : start + BATCH]))
    now = kleline.clock()
    write_credit_transfers(
        bank, transfers, message_id=f"sr_{secrets.token_hex(16)}", created_at=now, execution_date=now.date()
    )


def _on_day(period: date) -> Clock:
    """The system clock moved to ``period``: a settlement only starts on its own day (a past day nobody settled is
    refused), so each round's new period is today in the process that settles it."""
    shift = period - datetime.now(UTC).date()
    return lambda: system_clock() + shift


def _job(kind: str, url: str, period: date, go: Any, results: Any) -> None:
    kleline = build(load_settings(database_url=url), clock=_on_day(period))
    kleline.ledger.balances([CARDS])  # connections open, caches warm: the clock measures the job only
    go.wait()  # started while its books were being funded: the clock starts once they are
    before = _reset_peak()
    began, cpu = time.perf_counter(), time.process_time()
    if kind == "floor":
        _floor(kleline, period)
    else:
        _settle(kleline, period)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    peak = _status("VmHWM") - before
    kleline.close()
    results.put((elapsed, cpu, peak))


def _context() -> Any:
    """Processes forked from a server that imported this module (and so Kleline, psycopg, lxml) once, in a process
    of its own: each job's process starts in a fraction of a second instead of importing everything again (seconds
    each on a busy machine, 20 times), with nothing of this process's state (its connections) in it."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


class _Job:
    """One job in a process of its own, started (imports already done by the fork server, its connections opened)
    before its books are funded, so that its start-up overlaps the funding instead of adding to the bench's time;
    ``measure`` lets it run."""

    def __init__(self, kind: str, url: str, period: date) -> None:
        context = _context()
        self._go = context.Event()
        self._results = context.Queue()
        self._process = context.Process(target=_job, args=(kind, url, period, self._go, self._results))
        self._process.start()

    def measure(self) -> tuple[float, float, float]:
        """Wall time, CPU time and peak memory growth of the job, run now."""
        self._go.set()
        measured: tuple[float, float, float] = self._results.get(timeout=1800)
        self._process.join()
        return measured


# --- the rounds ---------------------------------------------------------------------------------------------------


def _rounds(url: str, report: Report, label: str) -> dict[str, float]:
    kleline = build(load_settings(database_url=url))
    began = time.perf_counter()
    funding = overhead = 0.0
    try:
        merchants = _open_merchants(kleline)
        opened = time.perf_counter() - began
        if url.startswith("postgresql"):
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute("VACUUM ANALYZE")
        times: dict[str, list[float]] = {}
        cpus: dict[str, list[float]] = {}
        peaks: dict[str, list[float]] = {}
        days_ahead = itertools.count(1)  # each settlement a period of its own, on its own (later) day
        plan: list[tuple[str, ...]] = [
            ("settlement", "floor") if i % 2 else ("floor", "settlement") for i in range(ROUNDS)
        ]
        sent = 0
        for index, kinds in enumerate(plan):
            for kind in kinds:
                period = datetime.now(UTC).date() + timedelta(days=next(days_ahead))
                job = _Job(kind, url, period)
                funded = time.perf_counter()
                sent += _fund(kleline, merchants, f"{index}-{len(times.get(kind, ()))}-{kind[0]}")
                funding += time.perf_counter() - funded
                waited = time.perf_counter()
                elapsed, cpu, peak = job.measure()
                PHASES.add(elapsed)
                overhead += time.perf_counter() - waited - elapsed
                times.setdefault(kind, []).append(elapsed)
                cpus.setdefault(kind, []).append(cpu)
                peaks.setdefault(kind, []).append(peak)
                # Every job paid every merchant its whole balance, and nothing else.
                assert kleline.ledger.balance(kleline.own_account.in_transit_code).posted == -sent
                assert all(
                    b.posted == 0 for b in kleline.ledger.balances([balance_account(m) for m in merchants]).values()
                )
        assert trial_balance(kleline.db).balanced, "the benchmark left unbalanced books"
    finally:
        kleline.close()
    total = time.perf_counter() - began
    print(
        f"  {label}: set-up {opened + funding:.0f} s (merchants' accounts {opened:.0f} s, funding {funding:.0f} s),"
        f" jobs' start and exit beyond their measured time {overhead:.0f} s, of {total:.0f} s",
        flush=True,
    )
    medians = {}
    for kind in ("floor", "settlement"):
        medians[f"{kind} time"] = report.figure(f"{label}: {kind}, time", [1000 * t for t in times[kind]], "ms")
        report.figure(f"{label}: {kind}, CPU of its process", [1000 * t for t in cpus[kind]], "ms")
        medians[f"{kind} peak"] = report.figure(
            f"{label}: {kind}, peak memory", [p / 2**20 for p in peaks[kind]], "MiB"
        )
    return medians


def run(report: Report) -> None:
    section(
        f"Settlement: {MERCHANTS:,} merchants paid out in one pain.001 vs the floor of the same job "
        f"(balances read, post_batch, write_credit_transfers), each in its own process"
    )
    with migrated_postgres("kleline_bench_settlement") as (_, url):
        pg = _rounds(url, report, "PostgreSQL")
    with TemporaryDirectory(prefix="kleline-bench-") as folder:
        lite = _rounds(migrated_sqlite(Path(folder) / "settlement.db"), report, "SQLite")
    report.ratio("settlement-10k", pg["floor time"], pg["settlement time"], goal=0.75)
    report.ratio("settlement-10k-memory", pg["floor peak"], pg["settlement peak"], goal=0.75)
    report.ratio("settlement-10k-sqlite", lite["floor time"], lite["settlement time"], goal=0.75)
