"""Whatever happens, in whatever order: the books balance, every statement adds up, and a replay is identical."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kleline.banksim import BankSimulator, InsufficientFunds
from kleline.money import Money
from kleline.sepa import Direction, read_statement

from ...conftest import FakeClock
from .conftest import BAKERY, BOOKSHOP, CUSTOMER, KLELINE, collections_file, debit, payouts_file, transfer

ACCOUNTS = (KLELINE.iban, BOOKSHOP, BAKERY, CUSTOMER)
amounts = st.integers(min_value=1, max_value=2_000_000_00).map(lambda minor: f"{minor // 100}.{minor % 100:02d}")
others = st.sampled_from(ACCOUNTS[1:])
operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.lists(st.tuples(others, amounts), min_size=1, max_size=3)),
        st.tuples(st.just("collect"), st.lists(st.tuples(others, amounts), min_size=1, max_size=3)),
        st.tuples(st.just("close"), others, st.booleans()),
        st.tuples(st.just("set"), st.sampled_from(ACCOUNTS), amounts),
        st.tuples(st.just("statement"), st.sampled_from(ACCOUNTS)),
    ),
    max_size=12,
)


def run(simulator: BankSimulator, clock: FakeClock, steps: list[tuple[object, ...]]) -> None:
    for number, step in enumerate(steps):
        clock.advance(hours=5)
        kind = step[0]
        if kind in ("pay", "collect"):
            items = step[1]
            assert isinstance(items, list)
            if kind == "pay":
                file = payouts_file(
                    *(transfer(f"po_{i}", a, iban) for i, (iban, a) in enumerate(items)), message_id=f"m{number}"
                )
            else:
                file = collections_file(
                    *(debit(f"col_{i}", a, iban) for i, (iban, a) in enumerate(items)), message_id=f"m{number}"
                )
            try:
                simulator.receive_file(file)
            except InsufficientFunds:
                pass
        elif kind == "close":
            simulator.update_account(str(step[1]), closed=bool(step[2]))
        elif kind == "set":
            simulator.update_account(str(step[1]), balance=Money.parse(str(step[2]), "EUR"))
        else:
            simulator.close_statement(str(step[1]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=operations)
def test_the_books_balance_statements_add_up_and_a_replay_reissues_them_identically(
    steps: list[tuple[object, ...]],
) -> None:
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as directory:
        state = Path(directory)
        simulator = BankSimulator(acquirer_iban=KLELINE.iban, clock=clock, state_dir=state)
        run(simulator, clock, steps)
        for iban in ACCOUNTS:
            simulator.close_statement(iban)
        assert set(simulator.trial_balance().values()) <= {Money(0, "EUR")}
        issued = {}
        for iban in ACCOUNTS:
            count = simulator.account(iban).statements
            issued[iban] = [simulator.statement(iban, n).xml for n in range(1, count + 1)]
            previous_closing = None
            for xml in issued[iban]:
                statement = read_statement(xml)
                assert statement.opening_balance is not None and statement.closing_balance is not None
                if previous_closing is not None:
                    assert statement.opening_balance == previous_closing
                moved = sum(
                    line.amount.minor if line.direction is Direction.CREDIT else -line.amount.minor
                    for line in statement.lines
                )
                assert statement.opening_balance.minor + moved == statement.closing_balance.minor
                previous_closing = statement.closing_balance
            assert previous_closing == simulator.account(iban).balance
        simulator.close()

        restarted = BankSimulator(acquirer_iban=KLELINE.iban, clock=clock, state_dir=state)
        try:
            for iban in ACCOUNTS:
                assert [restarted.statement(iban, n).xml for n in range(1, len(issued[iban]) + 1)] == issued[iban]
                assert restarted.account(iban) == simulator.account(iban)
        finally:
            restarted.close()
