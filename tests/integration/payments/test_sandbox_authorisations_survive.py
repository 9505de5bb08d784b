"""With ``KLELINE_BANK_URL=sandbox:``, what the sandbox issuers authorised survives a ``kill -9`` of the process that
asked, and every Kleline process on the database sees it: the worker captures what the API authorised.

The issuers' books used to live in each process's memory: a capture after a restart, or from another process, named
an authorisation the issuers there had never heard of (25) and the payment failed. Each test checks the end to end:
the payment succeeds, the cardholder is debited exactly once at the issuer, the books balance.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kleline.banks import InProcessTransport, IsoBankNetwork
from kleline.bootstrap import Kleline, build
from kleline.clock import epoch_us
from kleline.config import load_settings
from kleline.ledger.audit import trial_balance
from kleline.merchants.model import balance_account
from kleline.payments.confirm import Confirmations
from kleline.payments.model import PaymentRequest
from kleline.worker.sweeps import resume_stalled

from ...conftest import FakeClock
from .conftest import balance, eur, merchant, shopper

ROOT = Path(__file__).resolve().parents[3]
CARD = "4242424242424242"
OPENING = 10_000_000  # a sandbox cardholder's opening balance, in cents


def cardholder_balance(kleline: Kleline) -> tuple[int, int]:
    """The test card's posted and held balance at its sandbox issuer, as this Kleline's issuers read it."""
    assert isinstance(kleline.bank, IsoBankNetwork)
    transport = kleline.bank.transport
    assert isinstance(transport, InProcessTransport)
    found = transport.issuers.balance(CARD, "EUR")
    return found.posted.minor, found.held.minor


def assert_paid_once(kleline: Kleline, shop: str, payment_id: str, amount: int) -> None:
    paid = kleline.payments.get(payment_id)
    assert (paid.status, paid.amount_captured) == ("succeeded", amount)
    assert cardholder_balance(kleline) == (OPENING - amount, 0)
    assert balance(kleline, balance_account(shop)) == amount - paid.fee
    assert trial_balance(kleline.db).balanced


def authorize_in_a_child_then_kill_it(url: str, clock: FakeClock, args: list[str], tmp_path: Path) -> str:
    """Authorise in a child process (``authorize_and_wait``), kill it with SIGKILL; what it printed."""
    command = [sys.executable, "-m", "tests.integration.payments.authorize_and_wait", url, str(epoch_us(clock()))]
    log = tmp_path / "child.err"
    with (
        log.open("w") as errors,
        subprocess.Popen([*command, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True) as child,
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
    return line


def test_an_authorisation_made_by_a_process_killed_before_capture_is_captured_by_the_next(
    kleline: Kleline, database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline)
    card = kleline.cards.register(ada.id, CARD, 12, 2030, "123", "Ada Lovelace").id
    payment = kleline.payments.create(shop, PaymentRequest(eur(2_000), capture_method="manual"))

    said = authorize_in_a_child_then_kill_it(database_url, clock, [payment.id, ada.id, card], tmp_path)

    assert said == "authorized authorized"
    clock.advance(minutes=10)
    restarted = build(load_settings(database_url=database_url), clock=clock)  # a new process's Kleline
    try:
        assert cardholder_balance(restarted) == (OPENING, 2_000)  # the hold outlived the process that made it
        restarted.payments.capture(shop, payment.id)
        assert_paid_once(restarted, shop, payment.id, 2_000)
        restarted.payments.capture(shop, payment.id)  # asked again: nothing more is taken
        assert_paid_once(restarted, shop, payment.id, 2_000)
    finally:
        restarted.close()


@pytest.fixture
def worker(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """A second Kleline on the same database, as ``kleline worker`` builds it beside ``kleline serve``."""
    system = build(load_settings(database_url=database_url), clock=clock)
    try:
        yield system
    finally:
        system.close()


def test_the_worker_captures_what_the_api_authorised_and_both_see_the_same_issuers(
    kleline: Kleline, worker: Kleline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = kleline
    shop = merchant(api)
    ada = shopper(api)
    card = api.cards.register(ada.id, CARD, 12, 2030, "123", "Ada Lovelace").id
    payment = api.payments.create(shop, PaymentRequest(eur(2_500)))
    # The API authorises; its automatic capture does not happen (the request dies there), so the worker's sweep of
    # stalled payments captures it.
    with monkeypatch.context() as patch:
        patch.setattr(Confirmations, "capture_automatically", lambda _self, current: current)
        assert api.payments.confirm(payment.id, ada.id, "card", card_id=card).status == "authorized"
    assert cardholder_balance(worker) == (OPENING, 2_500)

    clock.advance(minutes=10)
    assert resume_stalled(worker) == 1

    assert_paid_once(worker, shop, payment.id, 2_500)
    assert cardholder_balance(api) == (OPENING - 2_500, 0)
