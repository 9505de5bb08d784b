"""The card network forgets an RRN a retention after the last request naming it, as the issuers do: a long-running
simulator stays bounded, a repeat is never settled twice, and a replay forgets exactly what the live network did."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from kleline.banks import IsoBankNetwork, UnknownAuthorization
from kleline.banks.messages import decode_request
from kleline.banks.sandbox import SandboxIssuers
from kleline.banksim import BankSimulator
from kleline.banksim.books import Books
from kleline.banksim.cards import CardNetwork
from kleline.money import Money

from ...conftest import FakeClock
from .conftest import KLELINE, VISA, card_network, eur, statement_lines

RETENTION = timedelta(days=30)


class DirectTransport:
    """Hands Kleline's ISO 8583 bytes to a bare ``CardNetwork``, stamped with the test's clock."""

    def __init__(self, network: CardNetwork, clock: FakeClock) -> None:
        self._network = network
        self._clock = clock

    def exchange(self, request: bytes) -> bytes:
        answer, _code = self._network.handle(decode_request(request), request, self._clock())
        return answer


def captured(network: IsoBankNetwork, amount: str, reference: str) -> str:
    authorization_id = network.authorize(VISA, eur(amount), reference).authorization_id
    assert authorization_id is not None
    network.capture(authorization_id, eur(amount))
    return authorization_id


def test_a_payment_is_forgotten_a_retention_after_the_last_request_naming_it(clock: FakeClock) -> None:
    books = Books()
    acquirer = books.open(KLELINE.iban, name="Kleline SAS")
    cards = CardNetwork(SandboxIssuers(clock=clock, retention=RETENTION), books, acquirer, retention=RETENTION)
    kleline = IsoBankNetwork(DirectTransport(cards, clock), clock=clock)
    old, refunded = captured(kleline, "10.00", "pay_old"), captured(kleline, "20.00", "pay_refunded")
    assert cards.remembered == 2
    clock.advance(days=20)
    kleline.refund(refunded, eur("5.00"), "re_1")  # names the payment again: remembered 30 days from now
    clock.advance(days=10, seconds=1)

    fresh = captured(kleline, "30.00", "pay_fresh")

    assert cards.remembered == 2  # the refunded payment and the fresh one; the old one is gone
    assert not cards.settled(old)
    assert cards.settled(refunded) and cards.settled("re_1") and cards.settled(fresh)
    # Its late repeat is unknown to the issuer too, so forgetting it settles nothing twice.
    settled_before = acquirer.balance("EUR")
    with pytest.raises(UnknownAuthorization):
        kleline.capture(old, eur("10.00"))
    assert acquirer.balance("EUR") == settled_before

    clock.advance(days=31)
    kleline.authorize(VISA, eur("1.00"), "pay_later")
    assert cards.remembered == 1
    assert not any(cards.settled(rrn) for rrn in (refunded, "re_1", fresh))


def test_a_repeat_within_the_retention_is_still_settled_once(clock: FakeClock) -> None:
    books = Books()
    acquirer = books.open(KLELINE.iban, name="Kleline SAS")
    cards = CardNetwork(SandboxIssuers(clock=clock, retention=RETENTION), books, acquirer, retention=RETENTION)
    kleline = IsoBankNetwork(DirectTransport(cards, clock), clock=clock)
    payment = captured(kleline, "10.00", "pay_1")
    settled = acquirer.balance("EUR")
    clock.advance(days=29)

    kleline.capture(payment, eur("10.00"))  # a lost answer, resent very late

    assert acquirer.balance("EUR") == settled


def test_a_retention_must_be_positive(clock: FakeClock) -> None:
    books = Books()
    with pytest.raises(ValueError, match="retention"):
        CardNetwork(SandboxIssuers(clock=clock), books, books.open(KLELINE.iban), retention=timedelta(0))


@contextmanager
def running(state: Path, clock: FakeClock) -> Iterator[BankSimulator]:
    simulator = BankSimulator(acquirer_iban=KLELINE.iban, clock=clock, state_dir=state)
    try:
        yield simulator
    finally:
        simulator.close()


def test_a_replay_forgets_by_the_journaled_stamps_not_the_time_of_the_restart(tmp_path: Path, clock: FakeClock) -> None:
    with running(tmp_path, clock) as simulator:
        network = card_network(simulator, clock)
        authorization_id = network.authorize(VISA, eur("42.00"), "pay_1").authorization_id
        assert authorization_id is not None
        clock.advance(days=20)
        network.capture(authorization_id, eur("42.00"))  # the issuer is still known: 20 days < 30
        (line,) = statement_lines(simulator)
        assert line.counterparty_name == "Kleline Sandbox Visa Bank"
        first = simulator.statement(KLELINE.iban, 1).xml
        balance = simulator.account(KLELINE.iban).balance
    clock.advance(days=60)  # the restart is long after: the replay must still read each request's own stamp

    with running(tmp_path, clock) as restarted:
        assert restarted.statement(KLELINE.iban, 1).xml == first
        assert restarted.account(KLELINE.iban).balance == balance
        assert restarted.trial_balance() == {"EUR": Money(0, "EUR")}
        # Now, 80 days on, the payment is forgotten everywhere: a late repeat is unknown and settles nothing.
        with pytest.raises(UnknownAuthorization):
            card_network(restarted, clock).capture(authorization_id, eur("42.00"))
        assert restarted.account(KLELINE.iban).balance == balance
