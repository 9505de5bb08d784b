"""Statements: everything booked since the previous one, numbered, adding up, schema-valid, the same every time."""

from __future__ import annotations

import pytest

from kleline.banksim import BankSimulator, UnknownStatement
from kleline.sepa import Direction, read_statement

from ...conftest import FakeClock
from .conftest import BOOKSHOP, CUSTOMER, KLELINE, OPENING, collections_file, debit, eur, payouts_file, transfer


def test_a_statement_states_the_period_from_the_opening_balance_to_the_balance_now(
    simulator: BankSimulator, clock: FakeClock
) -> None:
    simulator.receive_file(payouts_file(transfer("po_1", "120.50", BOOKSHOP)))
    simulator.receive_file(collections_file(debit("col_1", "50.00")))

    issued = simulator.close_statement(KLELINE.iban)
    statement = read_statement(issued.xml)  # checked against the camt.053.001.02 XSD on the way

    assert issued.sequence == 1 and statement.sequence_number == 1
    assert statement == issued.statement
    assert statement.account_iban == KLELINE.iban and statement.currency == "EUR"
    assert statement.created_at == clock()
    assert (statement.opening_balance, statement.closing_balance) == (OPENING, OPENING - eur("70.50"))
    assert [(line.end_to_end_id, line.direction) for line in statement.lines] == [
        ("po_1", Direction.DEBIT),
        ("col_1", Direction.CREDIT),
    ]


def test_the_next_statement_starts_where_the_previous_one_ended_and_holds_only_what_came_since(
    simulator: BankSimulator, clock: FakeClock
) -> None:
    simulator.receive_file(payouts_file(transfer("po_1", "120.50", BOOKSHOP)))
    first = simulator.close_statement(KLELINE.iban).statement
    clock.advance(days=1)
    simulator.receive_file(collections_file(debit("col_1", "50.00")))

    second = simulator.close_statement(KLELINE.iban).statement

    assert second.sequence_number == 2
    assert second.opening_balance == first.closing_balance
    assert second.closing_balance == OPENING - eur("70.50")
    assert [line.end_to_end_id for line in second.lines] == ["col_1"]
    assert second.lines[0].booking_date == clock().date()
    assert (second.statement_id, second.message_id) != (first.statement_id, first.message_id)
    assert {line.entry_ref for line in first.lines}.isdisjoint(line.entry_ref for line in second.lines)


def test_a_period_with_nothing_booked_gives_a_statement_without_lines(simulator: BankSimulator) -> None:
    statement = read_statement(simulator.close_statement(CUSTOMER).xml)

    assert statement.lines == ()
    assert statement.opening_balance == statement.closing_balance == OPENING


def test_an_issued_statement_reads_again_byte_for_byte(simulator: BankSimulator, clock: FakeClock) -> None:
    simulator.receive_file(payouts_file(transfer("po_1", "120.50", BOOKSHOP)))
    first = simulator.close_statement(KLELINE.iban)
    clock.advance(hours=3)
    simulator.receive_file(collections_file(debit("col_1", "50.00")))
    simulator.close_statement(KLELINE.iban)

    assert simulator.statement(KLELINE.iban, 1).xml == first.xml
    with pytest.raises(UnknownStatement):
        simulator.statement(KLELINE.iban, 3)
    with pytest.raises(UnknownStatement):
        simulator.statement(KLELINE.iban, 1, "USD")


def test_the_same_history_gives_the_same_statement_bytes(clock: FakeClock) -> None:
    def history() -> bytes:
        simulator = BankSimulator(acquirer_iban=KLELINE.iban, clock=clock)
        simulator.receive_file(payouts_file(transfer("po_1", "120.50", BOOKSHOP), transfer("po_2", "3.00", CUSTOMER)))
        simulator.update_account(CUSTOMER, closed=True)
        simulator.receive_file(collections_file(debit("col_1", "50.00")))
        return simulator.close_statement(KLELINE.iban).xml

    assert history() == history()


def test_a_balance_set_for_a_test_shows_on_the_statement_so_that_it_still_adds_up(simulator: BankSimulator) -> None:
    simulator.update_account(CUSTOMER, balance=eur("30.00"))

    statement = read_statement(simulator.close_statement(CUSTOMER).xml)

    (line,) = statement.lines
    assert (line.direction, line.amount, line.remittance) == (
        Direction.DEBIT,
        OPENING - eur("30.00"),
        "Balance adjustment",
    )
    assert statement.closing_balance == eur("30.00")
