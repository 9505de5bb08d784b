"""The worker: passes of deliveries and sweeps, ``kleline worker --once``, and a graceful stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kleline.bootstrap import Kleline, build
from kleline.cli import app
from kleline.config import load_settings
from kleline.events.outbox import record
from kleline.ledger import HoldRequest, HoldStatus, credit, debit
from kleline.worker.runner import Worker
from kleline.worker.sweeps import SWEEPS, Sweep

from ..conftest import FakeClock
from ..integration.helpers import eur, open_chart, transfer
from .webhook_receiver import Receiver, running_receiver

IBAN = "FR1420041010050500013M02606"
PURSE = "customer:cus_1:purse"


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    settings = load_settings(database_url=database_url, webhooks_allow_loopback=True, webhook_timeout_seconds=2.0)
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


def an_event_for_a_receiver(kleline: Kleline, receiver: Receiver) -> str:
    """A merchant with the receiver as its endpoint, and one event owed to it."""
    shop, _ = kleline.merchants.register(name="Librairie du Bac", email="a@example.org", iban=IBAN)
    _, receiver.secret = kleline.webhook_endpoints.create(shop.id, receiver.url)
    with kleline.db.transaction() as tx:
        return record(
            tx, type="payment.succeeded", merchant_id=shop.id, object_id="pay_1", data={}, created_at=kleline.clock()
        )


def test_the_hold_expiry_sweep_is_registered_and_releases_expired_holds(kleline: Kleline, clock: FakeClock) -> None:
    assert "ledger.expire_holds" in [sweep.name for sweep in SWEEPS]
    open_chart(kleline.ledger)
    kleline.ledger.post(transfer("ent_topup", "card:visa:receivable", PURSE, 5000))
    hold = HoldRequest(
        "hold_1", (debit(PURSE, eur(3000)), credit("merchant:mer_1:balance", eur(3000))), clock.now + timedelta(hours=1)
    )
    kleline.ledger.hold(hold)
    assert Worker(kleline).run_once().sweeps["ledger.expire_holds"] == 0
    clock.advance(hours=2)
    report = Worker(kleline).run_once()
    assert report.sweeps["ledger.expire_holds"] == 1 and report.errors == ()
    assert kleline.ledger.get_hold("hold_1").status is HoldStatus.EXPIRED
    assert kleline.ledger.balance(PURSE).available == 5000


def test_a_failing_sweep_is_reported_and_does_not_stop_the_others(kleline: Kleline) -> None:
    def broken(_: Kleline) -> int:
        raise RuntimeError("boom")

    worker = Worker(kleline, sweeps=[Sweep("broken", broken), Sweep("fine", lambda _: 3)])
    report = worker.run_once()
    assert report.errors == ("broken",) and report.sweeps == {"fine": 3}
    assert "broken: FAILED" in report.summary() and "fine: 3" in report.summary()


def test_in_the_loop_a_sweep_runs_only_once_its_pause_has_elapsed(kleline: Kleline) -> None:
    runs: list[int] = []
    now = [100.0]
    sweep = Sweep("counted", lambda _: runs.append(1) or 0, every=60)
    worker = Worker(kleline, sweeps=[sweep], monotonic=lambda: now[0])
    worker.run_once(every_sweep=False)
    now[0] += 30
    worker.run_once(every_sweep=False)
    assert len(runs) == 1
    now[0] += 31
    worker.run_once(every_sweep=False)
    assert len(runs) == 2
    worker.run_once()  # --once runs every sweep, whatever the pause
    assert len(runs) == 3


def test_the_loop_delivers_and_stops_when_asked(kleline: Kleline, clock: FakeClock) -> None:
    with running_receiver(now=lambda: clock.now.timestamp()) as receiver:
        event_id = an_event_for_a_receiver(kleline, receiver)
        stop = threading.Event()
        thread = threading.Thread(target=Worker(kleline, sweeps=(), interval=0.05).run, args=(stop,))
        thread.start()
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.02)
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert receiver.delivered_ids() == [event_id] and receiver.received[0].verified


def test_kleline_worker_once_prints_what_it_did(
    kleline: Kleline, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_receiver() as receiver:
        an_event_for_a_receiver(kleline, receiver)
        receiver.now = lambda: time.time()  # the CLI signs with the system clock
        monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
        monkeypatch.setenv("KLELINE_WEBHOOKS_ALLOW_LOOPBACK", "true")
        monkeypatch.setenv("COLUMNS", "240")
        result = CliRunner().invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "deliveries: 1 attempted, 1 delivered" in result.output
    assert "ledger.expire_holds: 0" in result.output
    assert receiver.received[0].verified
    assert receiver.secret is not None and receiver.secret not in result.output


def test_kleline_worker_stops_gracefully_on_sigterm(database_url: str) -> None:
    environment = {**os.environ, "KLELINE_DATABASE_URL": database_url, "KLELINE_WORKER_INTERVAL_SECONDS": "0.1"}
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("kleline")), "worker"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = ""
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while "worker started" not in output and time.monotonic() < deadline:
            output += process.stdout.readline()
        assert "worker started" in output, output
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output + rest
    assert "received SIGTERM" in rest and "worker stopped" in rest
