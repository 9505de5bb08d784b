"""The card network settles with the acquirer: captures credit Kleline's account, refunds debit it, each once."""

from __future__ import annotations

from kleline.banks import CardDetails
from kleline.banks.sandbox import DEFAULT_BALANCE
from kleline.banksim import BankSimulator
from kleline.money import Money
from kleline.sepa import Direction

from ...conftest import FakeClock
from .conftest import KLELINE, MASTERCARD, OPENING, VISA, balance, card_network, eur, statement_lines


def test_a_capture_is_settled_to_the_acquirer_under_the_authorisations_rrn(
    simulator: BankSimulator, clock: FakeClock
) -> None:
    network = card_network(simulator, clock)
    authorization = network.authorize(VISA, eur("42.00"), "pay_1")
    assert authorization.authorization_id is not None

    network.capture(authorization.authorization_id, eur("40.00"))  # a partial capture: the rest is released

    assert balance(simulator, KLELINE.iban) == OPENING + eur("40.00")
    (line,) = statement_lines(simulator)
    assert (line.direction, line.amount, line.end_to_end_id) == (
        Direction.CREDIT,
        eur("40.00"),
        authorization.authorization_id,
    )
    assert line.counterparty_name == "Kleline Sandbox Visa Bank"
    assert line.booking_date == clock().date()
    cardholder = simulator.card_balance(VISA.number, "EUR")
    assert (cardholder.held, cardholder.posted) == (eur("0.00"), Money(DEFAULT_BALANCE, "EUR") - eur("40.00"))
    assert simulator.trial_balance() == {"EUR": Money(0, "EUR")}


def test_an_authorisation_only_holds_at_the_issuer_and_settles_nothing(
    simulator: BankSimulator, clock: FakeClock
) -> None:
    network = card_network(simulator, clock)

    network.authorize(VISA, eur("42.00"), "pay_1")

    assert simulator.card_balance(VISA.number, "EUR").held == eur("42.00")
    assert statement_lines(simulator) == ()


def test_a_capture_advice_repeated_after_a_lost_answer_is_settled_once(
    simulator: BankSimulator, clock: FakeClock
) -> None:
    network = card_network(simulator, clock)
    authorization_id = network.authorize(MASTERCARD, eur("42.00"), "pay_1").authorization_id
    assert authorization_id is not None

    network.capture(authorization_id, eur("42.00"))
    network.capture(authorization_id, eur("42.00"))

    (line,) = statement_lines(simulator)
    assert (line.amount, line.counterparty_name) == (eur("42.00"), "Kleline Sandbox Mastercard Bank")


def test_declined_and_reversed_authorisations_settle_nothing(simulator: BankSimulator, clock: FakeClock) -> None:
    network = card_network(simulator, clock)
    declined = network.authorize(CardDetails("4000000000009995", 12, 2030), eur("10.00"), "pay_poor")
    assert not declined.approved
    reversed_id = network.authorize(VISA, eur("10.00"), "pay_cancelled").authorization_id
    assert reversed_id is not None

    network.reverse(reversed_id)

    assert statement_lines(simulator) == ()
    assert simulator.card_balance(VISA.number, "EUR").held == eur("0.00")


def test_a_refund_is_settled_as_a_debit_under_the_refunds_own_reference_once(
    simulator: BankSimulator, clock: FakeClock
) -> None:
    network = card_network(simulator, clock)
    authorization_id = network.authorize(VISA, eur("42.00"), "pay_1").authorization_id
    assert authorization_id is not None
    network.capture(authorization_id, eur("42.00"))

    network.refund(authorization_id, eur("12.00"), "re_1")
    network.refund(authorization_id, eur("12.00"), "re_1")  # resent after a lost answer

    assert balance(simulator, KLELINE.iban) == OPENING + eur("30.00")
    lines = statement_lines(simulator)
    assert [(line.direction, line.amount, line.end_to_end_id) for line in lines] == [
        (Direction.CREDIT, eur("42.00"), authorization_id),
        (Direction.DEBIT, eur("12.00"), "re_1"),
    ]
    assert simulator.trial_balance() == {"EUR": Money(0, "EUR")}
