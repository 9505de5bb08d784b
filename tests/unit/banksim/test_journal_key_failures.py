"""The journal's key can fail to be made: the simulator must then change nothing, and a crash while writing it
must not leave a key file that keeps the simulator from ever starting again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kleline.banks import IsoBankNetwork
from kleline.banksim import BankSimulator
from kleline.banksim.journal import JOURNAL_NAME, Journal, key_path

from ...conftest import FakeClock
from .conftest import KLELINE, VISA, card_network, eur


def _simulator(state: Path, clock: FakeClock) -> BankSimulator:
    return BankSimulator(acquirer_iban=KLELINE.iban, clock=clock, state_dir=state)


def test_a_card_number_that_cannot_be_sealed_changes_nothing(tmp_path: Path, clock: FakeClock) -> None:
    state = tmp_path / "bank"
    simulator = _simulator(state, clock)
    try:
        key_path(state).mkdir()  # a real failure: the key file cannot be created where it belongs
        network: IsoBankNetwork = card_network(simulator, clock)
        with pytest.raises(OSError):  # the key cannot be made: the request is not answered
            network.authorize(VISA, eur("42.00"), "pay_1")
        with pytest.raises(OSError):
            simulator.set_card_balance(VISA.number, eur("5.00"))
        # Neither the hold nor the balance was applied unjournaled.
        assert simulator.card_balance(VISA.number, "EUR").held == eur("0.00")
        assert simulator.card_balance(VISA.number, "EUR").posted != eur("5.00")
    finally:
        simulator.close()
    assert (state / JOURNAL_NAME).read_text().count("\n") == 1  # the header only


_SEAL_WITH_A_FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from kleline.banksim.journal import Journal
journal = Journal(Path(sys.argv[1]), {})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (16, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    journal.seal("4242424242424242")
except OSError:
    sys.exit(3)
"""


def test_a_key_that_could_not_be_written_whole_does_not_stop_the_next_start(tmp_path: Path) -> None:
    state = tmp_path / "bank"
    Journal(state, {}).close()
    # A real failure half-way through writing the key: the process may write no more than 16 bytes to a file.
    failed = subprocess.run([sys.executable, "-c", _SEAL_WITH_A_FULL_DISK, str(state)], check=False)
    assert failed.returncode == 3

    journal = Journal(state, {})  # nothing was sealed with a key that never existed whole: it starts
    try:
        sealed = journal.seal(VISA.number)
        assert journal.unseal(sealed) == VISA.number
    finally:
        journal.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bank", "bank.key"]  # no torn or temporary key left
    assert len(key_path(state).read_bytes()) == 32
