"""The demo's bank: ``kleline demo`` runs ``kleline bank serve`` beside Kleline, its card traffic (the seeding's
top-ups, then the customers' card payments) goes there over ISO 8583, the bank's state survives a restart of the
demo, and the bank never outlives the demo, however the demo ends.

Every demo here is the real command in a process of its own, on free ports, stopped by a signal as a terminal or a
service manager would stop it; the bank is read through its own HTTP side, never through Kleline.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx2 as httpx
import pytest

from kleline.demo import BankDidNotStart, BankProcess
from kleline.demo.bank import forget_stale_state, is_fresh, state_directory
from kleline.demo.data import CUSTOMERS, PASSWORD, PURCHASES

from .http import bearer

READY_SECONDS = 180.0
MASTERCARD = "5555555555554444"  # Bruno's card, which funded his purse (100 EUR) and nothing else
VISA = "4242424242424242"  # Alice's and Chloé's first card, which funded both purses
OPENING = Decimal("100000.00")  # every sandbox test card's opening balance


def _past_card_purchases(number: str) -> Decimal:
    """What the demo's past purchases took from the card ``number`` (each paid by its customer's first card), net of
    the refunds, in euros."""
    first_cards = {email: numbers[0] for _name, email, numbers in CUSTOMERS}
    cents = sum(p.amount - p.refunded for p in PURCHASES if p.method == "card" and first_cards[p.customer] == number)
    return Decimal(cents) / 100


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the demo's children in /proc")


@dataclass
class Demo:
    """A running ``kleline demo``: its process, what it printed, and where the bank it runs listens."""

    process: subprocess.Popen[str]
    port: int
    shop_port: int
    output: list[str] = field(default_factory=list)

    def line(self, start: str) -> str:
        """The banner's line starting with ``start``."""
        return next(line for line in self.output if line.startswith(start))

    @property
    def bank_url(self) -> str:
        """The ISO 8583 address the banner names."""
        return self.line("Bank:").split()[1]

    @property
    def bank_http(self) -> str:
        """The bank's HTTP side, as the banner names it."""
        return self.line("  HTTP side:").split()[2]

    def children(self, marker: str) -> list[int]:
        """The demo's child processes whose command line holds ``marker``."""
        return [pid for pid in _children(self.process.pid) if marker in _command_line(pid)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                # The command's name (in parentheses) may hold spaces: the fields after its ")" are fixed.
                if int((entry / "stat").read_text().rpartition(")")[2].split()[1]) == parent:
                    found.append(int(entry.name))
    return found


def _command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _gone(pid: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@contextmanager
def demo(tmp_path: Path, database_url: str, **environment: str) -> Iterator[Demo]:
    """``kleline demo`` on ``database_url``, from ``tmp_path``, until its banner is out; killed if still running
    after the block (a test stops it itself)."""
    port, shop_port = _free_port(), _free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("KLELINE_")}
    env |= {"KLELINE_DATABASE_URL": database_url, **environment}
    command = [
        str(Path(sys.executable).with_name("kleline")),
        "demo",
        "--port",
        str(port),
        "--shop-port",
        str(shop_port),
    ]
    # A session of its own, as in a terminal: Ctrl-C there is a SIGINT to the demo's whole process group.
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    running = Demo(process, port, shop_port)
    ready = threading.Event()

    def read() -> None:  # drained until the end, so that the demo's logging never blocks on a full pipe
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                running.output.append(line.rstrip("\n"))
                if line.startswith("Stop everything with Ctrl-C."):
                    ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    children: list[tuple[int, str]] = []
    try:
        ready.wait(READY_SECONDS)
        assert process.poll() is None and "Stop everything with Ctrl-C." in running.output, running.output
        children = [(pid, _command_line(pid)) for pid in _children(process.pid)]
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
        for pid, command_line in children:  # after a kill -9 of the demo: the shop is not this test's concern
            if _alive(pid) and _command_line(pid) == command_line:
                os.kill(pid, signal.SIGKILL)
        reader.join(30)


def _card(bank: str, number: str) -> dict[str, Decimal]:
    answer = httpx.get(f"{bank}/cards/{number}/balance", timeout=10)
    assert answer.status_code == 200, answer.text
    return {name: Decimal(answer.json()[name]) for name in ("posted", "held", "available")}


def _pay_by_card(running: Demo, email: str, last4: str) -> dict[str, object]:
    """Buy a Comté (8.90 EUR) at the shop, and pay Kleline's checkout with the customer's card ``..last4``."""
    kleline = f"http://127.0.0.1:{running.port}"
    with httpx.Client(base_url=f"http://127.0.0.1:{running.shop_port}", timeout=10) as shop:
        bought = shop.post("/orders", data={"sku": "comte"})
    assert bought.status_code == 303, bought.text
    payment_id = bought.headers["location"].rsplit("/", 1)[1]
    with httpx.Client(base_url=kleline, timeout=30) as client:
        token = client.post("/v1/auth/token", json={"email": email, "password": PASSWORD}).json()["token"]
        cards = client.get("/v1/wallet", headers=bearer(token)).json()["cards"]
        card_id = next(card["id"] for card in cards if card["last4"] == last4)
        paid = client.post(
            f"/v1/payments/{payment_id}/confirm", json={"method": "card", "card_id": card_id}, headers=bearer(token)
        )
    assert paid.status_code == 200, paid.text
    body: dict[str, object] = paid.json()
    return body


def _refused(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.TransportError:
        return True
    return False


def test_a_card_payment_at_the_demo_goes_through_its_bank_which_keeps_its_state_and_stops_with_it(
    tmp_path: Path, database_url: str
) -> None:
    with demo(tmp_path, database_url) as first:
        assert first.bank_url.startswith("iso8583://127.0.0.1:")
        (bank_pid,) = first.children("bank serve")
        # The seeding's top-ups went through this bank: 100 EUR from the Mastercard, 2 x 100 EUR from the Visa; and
        # the past purchases paid by card.
        assert _past_card_purchases(MASTERCARD) == 0
        assert _card(first.bank_http, MASTERCARD) == {"posted": OPENING - 100, "held": 0, "available": OPENING - 100}
        assert _card(first.bank_http, VISA)["posted"] == OPENING - 200 - _past_card_purchases(VISA)

        payment = _pay_by_card(first, "bruno@example.com", MASTERCARD[-4:])

        assert payment["status"] == "succeeded" and payment["amount"] == 890, payment
        after = _card(first.bank_http, MASTERCARD)
        assert after == {"posted": OPENING - Decimal("108.90"), "held": 0, "available": OPENING - Decimal("108.90")}
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(60) == 128 + signal.SIGTERM
        assert _gone(bank_pid), "the bank outlived the demo"
        assert _refused(f"{first.bank_http}/health")

    # Started again on the same database, the bank replays its state: the same balances, nothing topped up again.
    with demo(tmp_path, database_url) as again:
        assert _card(again.bank_http, MASTERCARD)["posted"] == OPENING - Decimal("108.90")
        assert _card(again.bank_http, VISA)["posted"] == OPENING - 200 - _past_card_purchases(VISA)
        (bank_pid,) = again.children("bank serve")
        (shop_pid,) = again.children("demo_shop")
        again.process.kill()  # no chance to stop anything: the kernel tells the bank and the shop
        again.process.wait(30)
        assert _gone(bank_pid), "the bank outlived a demo killed with SIGKILL"
        assert _gone(shop_pid), "the shop outlived a demo killed with SIGKILL"

    with demo(tmp_path, database_url) as third:
        assert _card(third.bank_http, MASTERCARD)["posted"] == OPENING - Decimal("108.90")
        (bank_pid,) = third.children("bank serve")
        os.killpg(third.process.pid, signal.SIGINT)  # Ctrl-C at the terminal
        third.process.wait(60)
        assert _gone(bank_pid), "the bank outlived a demo stopped with Ctrl-C"
        assert _refused(f"{third.bank_http}/health")


def test_a_bank_named_by_kleline_bank_url_is_used_and_left_running(tmp_path: Path, database_url: str) -> None:
    own = BankProcess()  # the user's own bank, in memory
    try:
        bank = own.wait_until_listening()
        assert bank.files_url is not None
        with demo(tmp_path, database_url, KLELINE_BANK_URL=bank.url) as running:
            assert running.children("bank serve") == []
            assert running.line("Bank:").split()[1:3] == [bank.url, "(KLELINE_BANK_URL:"]
            assert _card(bank.files_url, MASTERCARD)["posted"] == OPENING - 100  # the seeding used it

            assert _pay_by_card(running, "bruno@example.com", MASTERCARD[-4:])["status"] == "succeeded"

            assert _card(bank.files_url, MASTERCARD)["posted"] == OPENING - Decimal("108.90")
            running.process.send_signal(signal.SIGTERM)
            assert running.process.wait(60) == 128 + signal.SIGTERM
        assert httpx.get(f"{bank.files_url}/health", timeout=10).status_code == 200  # not the demo's to stop
    finally:
        own.stop()
    assert own.process.returncode == 0


def test_the_bank_state_lies_beside_an_sqlite_database_and_in_the_working_directory_otherwise(tmp_path: Path) -> None:
    assert state_directory(f"sqlite:///{tmp_path}/demo.db") == tmp_path / "demo.db-bank"
    assert state_directory("sqlite:///demo.db") == Path("demo.db-bank")  # `make clean` removes demo.db-*
    assert state_directory("postgresql+psycopg://kleline@localhost/shop", cwd=tmp_path) == tmp_path / "demo-shop-bank"


def test_only_a_database_without_schema_is_fresh(tmp_path: Path, database_url: str) -> None:
    assert is_fresh(f"sqlite:///{tmp_path / 'not-made-yet.db'}")
    assert not is_fresh(database_url)  # migrated


def test_a_stale_bank_state_is_forgotten_with_its_key_and_a_foreign_directory_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "demo.db-bank"
    assert not forget_stale_state(state)
    state.mkdir()
    (state / "journal.jsonl").write_text("{}\n")
    key = tmp_path / "demo.db-bank.key"
    key.write_bytes(b"k" * 32)

    assert forget_stale_state(state)

    assert not state.exists() and not key.exists()
    state.mkdir()
    (state / "notes.txt").write_text("mine")
    with pytest.raises(BankDidNotStart):
        forget_stale_state(state)
    assert (state / "notes.txt").exists()


def test_a_bank_that_cannot_listen_is_reported_and_stopped(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        bank = BankProcess(port=taken.getsockname()[1], state=tmp_path / "bank")
        with pytest.raises(BankDidNotStart, match="cannot listen"):
            bank.wait_until_listening()
    assert bank.process.poll() is not None
