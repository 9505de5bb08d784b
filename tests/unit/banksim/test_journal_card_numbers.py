"""The journal keeps no card number in clear: each is sealed under a key kept beside the state directory."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kleline.banks import CardDetails
from kleline.banksim import BankSimulator, JournalUnreadable
from kleline.banksim.journal import JOURNAL_NAME, key_path
from kleline.clock import epoch_us

from ...conftest import FakeClock
from .conftest import KLELINE, MASTERCARD, VISA, card_network, eur

OTHER = CardDetails("4111111111111111", 12, 2030)


@contextmanager
def running(state: Path, clock: FakeClock) -> Iterator[BankSimulator]:
    simulator = BankSimulator(acquirer_iban=KLELINE.iban, clock=clock, state_dir=state)
    try:
        yield simulator
    finally:
        simulator.close()


def _card_traffic(simulator: BankSimulator, clock: FakeClock) -> str:
    network = card_network(simulator, clock)
    simulator.set_card_balance(OTHER.number, eur("50.00"))
    held = network.authorize(VISA, eur("42.00"), "pay_1").authorization_id
    captured = network.authorize(MASTERCARD, eur("10.00"), "pay_2").authorization_id
    assert network.authorize(OTHER, eur("60.00"), "pay_3").code == "51"
    assert held is not None and captured is not None
    network.capture(captured, eur("10.00"))
    return held


def _decoded_journal(state: Path) -> str:
    """The journal as text, with every base64 field decoded as well, where a card number could hide."""
    text = (state / JOURNAL_NAME).read_text()
    decoded = []
    for line in text.splitlines():
        for value in json.loads(line).values():
            if isinstance(value, str):
                try:
                    decoded.append(base64.b64decode(value, validate=True).decode("latin-1"))
                except ValueError:
                    pass
    return text + "\n".join(decoded)


def test_no_card_number_is_written_in_clear_and_a_restart_still_knows_every_hold(
    tmp_path: Path, clock: FakeClock
) -> None:
    state = tmp_path / "bank"
    with running(state, clock) as simulator:
        held = _card_traffic(simulator, clock)
    journal = _decoded_journal(state)
    for number in (VISA.number, MASTERCARD.number, OTHER.number):
        assert number not in journal
    assert key_path(state) == tmp_path / "bank.key"  # beside the state directory: a copy of it reveals nothing
    assert stat.S_IMODE(key_path(state).stat().st_mode) == 0o600

    with running(state, clock) as restarted:
        assert restarted.card_balance(VISA.number, "EUR").held == eur("42.00")
        assert restarted.card_balance(OTHER.number, "EUR").posted == eur("50.00")
        assert card_network(restarted, clock).reverse(held).code == "00"
        assert restarted.card_balance(VISA.number, "EUR").held == eur("0.00")


def test_a_journal_without_its_key_refuses_to_start(tmp_path: Path, clock: FakeClock) -> None:
    state = tmp_path / "bank"
    with running(state, clock) as simulator:
        _card_traffic(simulator, clock)
    key_path(state).rename(tmp_path / "elsewhere.key")

    with pytest.raises(JournalUnreadable, match="key"):
        BankSimulator(acquirer_iban=KLELINE.iban, clock=clock, state_dir=state)


def test_a_journal_written_before_card_numbers_were_sealed_still_replays(tmp_path: Path, clock: FakeClock) -> None:
    state = tmp_path / "bank"
    with running(state, clock):
        pass
    old_line = {"at": epoch_us(clock()), "op": "card_balance", "number": VISA.number, "minor": 700, "currency": "EUR"}
    with (state / JOURNAL_NAME).open("a") as journal:
        journal.write(json.dumps(old_line) + "\n")

    with running(state, clock) as restarted:
        assert restarted.card_balance(VISA.number, "EUR").posted == eur("7.00")
