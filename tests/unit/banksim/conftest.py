"""A simulated banking network on a hand-moved clock, and the SEPA files Kleline would send it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from kleline.banks import CardDetails, IsoBankNetwork
from kleline.banksim import BankSimulator
from kleline.money import Money
from kleline.sepa import (
    CreditTransfer,
    DirectDebit,
    OwnAccount,
    StatementLine,
    read_statement,
    write_credit_transfers,
    write_direct_debits,
)

from ...conftest import FakeClock

KLELINE = OwnAccount(
    iban="FR7630003000000005000000167", bic="SOGEFRPP", name="Kleline SAS", creditor_id="FR72ZZZ123456"
)
BOOKSHOP = "FR1420041010050500013M02606"  # a merchant at La Banque Postale (PSSTFRPP)
BAKERY = "DE62370400440532013001"  # a merchant at Commerzbank (COBADEFFXXX)
CUSTOMER = "NL64ABNA0417164301"  # a customer at ABN AMRO (ABNANL2A)
OPENING = Money.parse("1000000.00", "EUR")


def eur(text: str) -> Money:
    """Euros from a decimal string, exactly."""
    return Money.parse(text, "EUR")


@pytest.fixture
def simulator(clock: FakeClock) -> Iterator[BankSimulator]:
    """The network in memory, Kleline's account as the acquirer."""
    network = BankSimulator(acquirer_iban=KLELINE.iban, clock=clock)
    try:
        yield network
    finally:
        network.close()


def transfer(end_to_end_id: str, amount: str, iban: str, name: str = "Librairie Kleber") -> CreditTransfer:
    """A payout of ``amount`` euros to ``iban``."""
    return CreditTransfer(end_to_end_id, eur(amount), name, iban, "", f"Kleline payout {end_to_end_id}")


def payouts_file(*transfers: CreditTransfer, message_id: str = "sr_1", clock: FakeClock | None = None) -> bytes:
    """A pain.001 from Kleline's account."""
    now = clock() if clock else FakeClock()()
    return write_credit_transfers(KLELINE, transfers, message_id=message_id, created_at=now, execution_date=now.date())


def debit(end_to_end_id: str, amount: str, iban: str = CUSTOMER, name: str = "Jeanne Martin") -> DirectDebit:
    """A collection of ``amount`` euros from ``iban``."""
    return DirectDebit(
        end_to_end_id, eur(amount), name, iban, None, f"MDT-{iban[-6:]}", date(2026, 1, 2), "FRST", "Kleline top-up"
    )


def collections_file(*debits: DirectDebit, message_id: str = "cr_1") -> bytes:
    """A pain.008 to Kleline's account."""
    now = FakeClock()()
    return write_direct_debits(KLELINE, debits, message_id=message_id, created_at=now, collection_date=now.date())


def statement_lines(simulator: BankSimulator, iban: str = KLELINE.iban) -> tuple[StatementLine, ...]:
    """The lines of the next statement of ``iban``, as Kleline's reader reads them."""
    return read_statement(simulator.close_statement(iban).xml).lines


def balance(simulator: BankSimulator, iban: str) -> Money:
    """What ``iban`` holds in euros."""
    return simulator.account(iban).balance


class SimulatorTransport:
    """The ``Transport`` that hands Kleline's ISO 8583 bytes to the simulator in the caller's thread, as the TCP
    server does from its connection threads."""

    def __init__(self, simulator: BankSimulator) -> None:
        self._simulator = simulator

    def exchange(self, request: bytes) -> bytes:
        return self._simulator.handle(request)


def card_network(simulator: BankSimulator, clock: FakeClock) -> IsoBankNetwork:
    """Kleline's card connector, talking to ``simulator``."""
    return IsoBankNetwork(SimulatorTransport(simulator), clock=clock)


VISA = CardDetails("4242424242424242", 12, 2030, "123")
MASTERCARD = CardDetails("5555555555554444", 12, 2030, "321")
