"""A settlement run killed at every step, then run again: each merchant paid exactly once, the books balanced, one
file.

The run goes in a process of its own (``settle_and_wait``) that stops at the chosen step (inside a batch's
transaction before its commit, after a batch's commit, before the file, inside the completing transaction) and is
killed there with SIGKILL: no exception, no rollback from Python, the database connection simply drops.
"""

from __future__ import annotations

import math
import subprocess
import sys
import threading
from dataclasses import astuple
from datetime import timedelta
from pathlib import Path

import pytest

from kleline.bootstrap import Kleline, own_account
from kleline.config import load_settings
from kleline.merchants.model import balance_account
from kleline.sepa import read_credit_transfers, sepa_reference
from kleline.settlement import payout_id

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from .conftest import IBANS, balance, balanced, fund, merchant

ROOT = Path(__file__).resolve().parents[3]
AMOUNTS = (1_500, 2_750, 40_000)
STALE = timedelta(minutes=5)


def steps(batch_size: int) -> list[str]:
    """The steps of a run over ``AMOUNTS``' merchants, in order."""
    return ["payouts", "paid"] * math.ceil(len(AMOUNTS) / batch_size) + ["file", "complete"]


def shops(kleline: Kleline) -> dict[str, int]:
    """Three funded merchants, by id, with what each is owed."""
    owed = {}
    for i, amount in enumerate(AMOUNTS):
        shop = merchant(kleline, f"Boutique {i}", iban=IBANS[i])
        fund(kleline, shop, amount)
        owed[shop] = amount
    return owed


def settle_until_killed(url: str, batch_size: int, stop: int, tmp_path: Path) -> str:
    """Run settlement in a child process, kill it at step ``stop``; the step it stopped at ("done" if none)."""
    account = own_account(load_settings(database_url=url))  # the one Kleline's build makes from these settings
    module = "tests.integration.settlement.settle_and_wait"
    command = [sys.executable, "-m", module, url, str(batch_size), str(stop), *astuple(account)]
    log = tmp_path / "child.err"
    with (
        log.open("w") as errors,
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True) as child,
    ):
        watchdog = threading.Timer(120, child.kill)
        watchdog.start()
        try:
            assert child.stdout is not None
            line = child.stdout.readline().strip()
            child.kill()
        finally:
            watchdog.cancel()
    assert line, f"the child said nothing: {log.read_text()}"
    return line.removeprefix("stopped ")


def check_paid_once(kleline: Kleline, owed: dict[str, int]) -> None:
    """Every merchant paid exactly what it was owed, once, in one file; the books balanced."""
    (run,) = kleline.settlement.list_runs()[0]
    assert (run.status, run.payout_count, run.total) == ("complete", len(owed), sum(owed.values()))
    payouts = kleline.settlement.run_payouts(run.id)
    assert {p.merchant_id: p.amount.minor for p in payouts} == owed
    assert all(balance(kleline, balance_account(shop)) == 0 for shop in owed)
    assert balance(kleline, kleline.own_account.in_transit_code) == -sum(owed.values())
    with kleline.db.transaction(write=False) as tx:
        sent = tx.fetchone("SELECT COUNT(*) FROM ledger_entries WHERE id LIKE :sent", {"sent": "po%:sent"})[0]
    assert sent == len(owed)
    _, transfers = read_credit_transfers(kleline.settlement.run_file(run.id))
    assert sorted((t.end_to_end_id, t.amount.minor) for t in transfers) == sorted(
        (sepa_reference(payout_id(run.id, shop)), amount) for shop, amount in owed.items()
    )
    assert balanced(kleline)


def check_consistent_meanwhile(kleline: Kleline) -> None:
    """After the kill: each payout has its entry and each entry its payout, the books balance, the run runs."""
    with kleline.db.transaction(write=False) as tx:
        payouts = {f"{row[0]}:sent" for row in tx.fetchall("SELECT id FROM payouts")}
        entries = {row[0] for row in tx.fetchall("SELECT id FROM ledger_entries WHERE id LIKE 'po%'")}
        statuses = [row[0] for row in tx.fetchall("SELECT status FROM settlement_runs")]
    assert payouts == entries
    assert statuses == ["running"]
    assert balanced(kleline)


# Every step of a run in batches of one merchant, and a kill inside a batch of two merchants' transaction (both
# payouts vanish together); the other steps of batches of two are those of batches of one.
KILLS = [(1, stop) for stop in range(len(steps(1)))] + [(2, 0)]


@pytest.mark.parametrize(("batch_size", "stop"), KILLS)
def test_a_run_killed_at_any_step_and_run_again_pays_every_merchant_once(
    kleline: Kleline, database_url: str, tmp_path: Path, batch_size: int, stop: int
) -> None:
    owed = shops(kleline)

    stopped = settle_until_killed(database_url, batch_size, stop, tmp_path)

    assert stopped == steps(batch_size)[stop]
    check_consistent_meanwhile(kleline)
    kleline.settlement.run(actor=OPERATOR)
    check_paid_once(kleline, owed)


def test_a_run_killed_again_and_again_while_recovering_still_pays_every_merchant_once(
    kleline: Kleline, database_url: str, tmp_path: Path
) -> None:
    owed = shops(kleline)
    seen = []
    # Each attempt walks the batches its predecessors paid (two steps each), pays one more merchant and is killed
    # right after that batch's commit; the last one is killed inside the transaction that completes the run.
    for stop in (1, 3, 5, 7):
        seen.append(settle_until_killed(database_url, 1, stop, tmp_path))
        check_consistent_meanwhile(kleline)

    assert seen == ["paid", "paid", "paid", "complete"]
    assert len(kleline.settlement.list_payouts()[0]) == len(AMOUNTS)
    kleline.settlement.run(actor=OPERATOR)
    check_paid_once(kleline, owed)


def test_the_worker_finishes_a_run_nobody_reran(
    kleline: Kleline, database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    owed = shops(kleline)
    assert settle_until_killed(database_url, 1, 3, tmp_path) == "paid"

    assert kleline.settlement.finish_interrupted(STALE) == []  # not stale yet
    clock.advance(minutes=6)
    (finished,) = kleline.settlement.finish_interrupted(STALE)

    assert finished == kleline.settlement.list_runs()[0][0].id
    check_paid_once(kleline, owed)
