"""The journal: a simulator restarted on its state directory knows everything it had answered, and nothing more."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kleline.banks import CardDetails, MalformedMessage
from kleline.banks.messages import AuthorizationRequest, decode_request
from kleline.banksim import BankSimulator, InsufficientFunds, JournalUnreadable, SimulatorClosed
from kleline.banksim.journal import JOURNAL_NAME

from ...conftest import FakeClock
from .conftest import (
    BOOKSHOP,
    CUSTOMER,
    KLELINE,
    MASTERCARD,
    OPENING,
    VISA,
    balance,
    card_network,
    eur,
    payouts_file,
    transfer,
)


@contextmanager
def running(state: Path, clock: FakeClock, acquirer: str = KLELINE.iban) -> Iterator[BankSimulator]:
    simulator = BankSimulator(acquirer_iban=acquirer, clock=clock, state_dir=state)
    try:
        yield simulator
    finally:
        simulator.close()


def journal_lines(state: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (state / JOURNAL_NAME).read_bytes().splitlines()]


def test_a_restarted_simulator_still_holds_what_it_authorised_and_can_release_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    with running(tmp_path, clock) as simulator:
        authorization = card_network(simulator, clock).authorize(VISA, eur("42.00"), "pay_1")
    assert authorization.authorization_id is not None

    with running(tmp_path, clock) as restarted:
        assert restarted.card_balance(VISA.number, "EUR").held == eur("42.00")
        reversal = card_network(restarted, clock).reverse(authorization.authorization_id)
        assert reversal.code == "00"
        assert restarted.card_balance(VISA.number, "EUR").held == eur("0.00")


def test_a_restarted_simulator_reissues_its_statements_byte_for_byte_and_numbers_on(
    tmp_path: Path, clock: FakeClock
) -> None:
    with running(tmp_path, clock) as simulator:
        network = card_network(simulator, clock)
        authorization_id = network.authorize(VISA, eur("42.00"), "pay_1").authorization_id
        assert authorization_id is not None
        network.capture(authorization_id, eur("42.00"))
        simulator.receive_file(payouts_file(transfer("po_1", "20.00", BOOKSHOP)))
        first = simulator.close_statement(KLELINE.iban)
        simulator.update_account(BOOKSHOP, closed=True)
        simulator.receive_file(payouts_file(transfer("po_2", "5.00", BOOKSHOP), message_id="sr_2"))
        expected_balance = balance(simulator, KLELINE.iban)
    clock.advance(days=2)

    with running(tmp_path, clock) as restarted:
        assert restarted.statement(KLELINE.iban, 1).xml == first.xml
        assert balance(restarted, KLELINE.iban) == expected_balance
        assert restarted.account(BOOKSHOP).closed
        second = restarted.close_statement(KLELINE.iban).statement
        assert second.sequence_number == 2
        assert [(line.end_to_end_id, line.return_reason) for line in second.lines] == [("po_2", None), ("po_2", "AC04")]
        last_ref = max(line.entry_ref for line in first.statement.lines)
        assert all(line.entry_ref > last_ref for line in second.lines)
        # The same file again after the restart is still recognised, and booked once.
        assert restarted.receive_file(payouts_file(transfer("po_1", "20.00", BOOKSHOP)))[1] is False


def test_replay_reads_each_requests_own_time_not_the_time_of_the_restart(tmp_path: Path, clock: FakeClock) -> None:
    expiring = CardDetails("4242424242424242", 1, 2026)  # valid through January 2026; the clock says 15 January
    with running(tmp_path, clock) as simulator:
        assert card_network(simulator, clock).authorize(expiring, eur("10.00"), "pay_1").approved
    clock.advance(days=60)  # March: the card has expired since

    with running(tmp_path, clock) as restarted:
        assert restarted.card_balance(expiring.number, "EUR").held == eur("10.00")


def test_the_journal_never_holds_a_security_code(tmp_path: Path, clock: FakeClock) -> None:
    with running(tmp_path, clock) as simulator:
        card_network(simulator, clock).authorize(CardDetails("4242424242424242", 12, 2030, "987"), eur("1.00"), "p")

    (record,) = [line for line in journal_lines(tmp_path) if line.get("op") == "iso8583"]
    request = decode_request(base64.b64decode(str(record["request"])))
    assert isinstance(request, AuthorizationRequest) and request.card.cvc == "000"


def test_a_refused_request_is_not_journaled(tmp_path: Path, clock: FakeClock) -> None:
    with running(tmp_path, clock) as simulator:
        simulator.update_account(KLELINE.iban, balance=eur("1.00"))
        before = journal_lines(tmp_path)
        with pytest.raises(InsufficientFunds):
            simulator.receive_file(payouts_file(transfer("po_1", "20.00", BOOKSHOP)))
        assert journal_lines(tmp_path) == before


def test_a_torn_last_line_was_never_answered_and_is_cut_off(tmp_path: Path, clock: FakeClock) -> None:
    with running(tmp_path, clock) as simulator:
        simulator.update_account(CUSTOMER, balance=eur("30.00"))
    with (tmp_path / JOURNAL_NAME).open("ab") as journal:
        journal.write(b'{"at":1,"op":"account","iban":"')  # the crash came in the middle of a write

    with running(tmp_path, clock) as restarted:
        assert balance(restarted, CUSTOMER) == eur("30.00")
        restarted.update_account(CUSTOMER, balance=eur("40.00"))
    with running(tmp_path, clock) as again:
        assert balance(again, CUSTOMER) == eur("40.00")


def test_a_journal_corrupt_in_its_middle_refuses_to_start(tmp_path: Path, clock: FakeClock) -> None:
    with running(tmp_path, clock) as simulator:
        simulator.update_account(CUSTOMER, balance=eur("30.00"))
        simulator.update_account(CUSTOMER, balance=eur("40.00"))
    lines = (tmp_path / JOURNAL_NAME).read_bytes().splitlines(keepends=True)
    lines[1] = b"garbage\n"
    (tmp_path / JOURNAL_NAME).write_bytes(b"".join(lines))

    with pytest.raises(JournalUnreadable, match="line 2"):
        BankSimulator(acquirer_iban=KLELINE.iban, clock=clock, state_dir=tmp_path)


def test_a_state_directory_written_for_another_acquirer_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    with running(tmp_path, clock):
        pass

    with pytest.raises(JournalUnreadable, match="acquirer_iban"):
        BankSimulator(acquirer_iban=BOOKSHOP, clock=clock, state_dir=tmp_path)


def test_two_simulators_cannot_share_a_state_directory(tmp_path: Path, clock: FakeClock) -> None:
    with running(tmp_path, clock):
        with pytest.raises(JournalUnreadable, match="in use"):
            BankSimulator(acquirer_iban=KLELINE.iban, clock=clock, state_dir=tmp_path)

    with running(tmp_path, clock):  # released when the first one closed
        pass


def test_requests_applied_concurrently_replay_in_the_order_they_were_applied(tmp_path: Path, clock: FakeClock) -> None:
    scarce = CardDetails("4242424242424242", 12, 2030)  # room for three holds: who gets one depends on the order
    with running(tmp_path, clock) as simulator:
        simulator.set_card_balance(scarce.number, eur("3.00"))
        network = card_network(simulator, clock)
        outcomes: list[bool] = []

        def spend(worker: int) -> None:
            for attempt in range(25):
                held = network.authorize(scarce, eur("1.00"), f"pay_{worker}_{attempt}")
                outcomes.append(held.approved)
                if held.authorization_id is not None:
                    network.reverse(held.authorization_id)
                captured = network.authorize(MASTERCARD, eur("1.00"), f"cap_{worker}_{attempt}").authorization_id
                assert captured is not None
                network.capture(captured, eur("1.00"))

        threads = [threading.Thread(target=spend, args=(worker,)) for worker in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        acquirer = simulator.account(KLELINE.iban)
    assert True in outcomes and False in outcomes  # the holds did collide

    with running(tmp_path, clock) as restarted:  # replaying checks every answer against the one journaled
        assert restarted.card_balance(scarce.number, "EUR").held == eur("0.00")
        assert restarted.account(KLELINE.iban) == acquirer
        assert len(restarted.close_statement(KLELINE.iban).statement.lines) == 200


def test_a_malformed_message_is_refused_and_leaves_no_trace(tmp_path: Path, clock: FakeClock) -> None:
    with running(tmp_path, clock) as simulator:
        before = journal_lines(tmp_path)
        with pytest.raises(MalformedMessage):
            simulator.handle(b"0100garbage")
        assert journal_lines(tmp_path) == before


def test_a_closed_simulator_changes_nothing_more(tmp_path: Path, clock: FakeClock) -> None:
    with running(tmp_path, clock) as simulator:
        pass

    with pytest.raises(SimulatorClosed):
        simulator.update_account(CUSTOMER, balance=eur("1.00"))
    with pytest.raises(SimulatorClosed):
        card_network(simulator, clock).authorize(VISA, eur("1.00"), "pay_late")
    with running(tmp_path, clock) as restarted:
        assert restarted.account(CUSTOMER).balance == OPENING


def test_a_restarted_simulator_answers_a_repeated_authorisation_with_the_approval_code_it_gave(
    tmp_path: Path, clock: FakeClock
) -> None:
    with running(tmp_path, clock) as simulator:
        first = card_network(simulator, clock).authorize(VISA, eur("12.00"), "pay_approval_code")
    assert first.approval_code is not None

    with running(tmp_path, clock) as restarted:
        again = card_network(restarted, clock).authorize(VISA, eur("12.00"), "pay_approval_code")
    assert (again.authorization_id, again.approval_code) == (first.authorization_id, first.approval_code)
