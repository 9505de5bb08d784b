"""The whole loop against the simulated banking network: card traffic over ISO 8583 on TCP, the pain files booked
by the simulated bank, its camt.053 statement imported, and every line reconciled with nothing left in suspense."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kleline.banks.tcp_server import Iso8583Server
from kleline.banksim.simulator import BankSimulator
from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.collections import CollectionStatus
from kleline.config import load_settings
from kleline.merchants.model import balance_account
from kleline.reconciliation import LineStatus, Target
from kleline.wallet.customers import purse_code

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from .conftest import RECEIVABLE, SUSPENSE, World, balance, balanced


@pytest.fixture
def network(clock: FakeClock) -> Iterator[tuple[BankSimulator, str]]:
    """The simulated network (its acquirer account is Kleline's safeguarding account) behind a TCP server."""
    simulator = BankSimulator(acquirer_iban=load_settings().safeguarding_iban, clock=clock)
    with Iso8583Server(simulator.handle) as server:
        host, port = server.server_address
        yield simulator, f"iso8583://{host}:{port}"
    simulator.close()


@pytest.fixture
def kleline(database_url: str, clock: FakeClock, network: tuple[BankSimulator, str]) -> Iterator[Kleline]:
    """Kleline whose card network is the simulated one, over TCP."""
    system = build(load_settings(database_url=database_url, bank_url=network[1]), clock=clock)
    open_system_accounts(system)
    try:
        yield system
    finally:
        system.close()


def test_purchase_capture_refund_top_ups_settlement_and_the_bank_statement_reconcile_to_the_cent(
    kleline: Kleline, world: World, network: tuple[BankSimulator, str]
) -> None:
    simulator, _ = network
    bank = kleline.own_account
    payment = world.card_payment(5_000)  # 175 commission, 4,825 for the merchant
    refund = world.refund(payment, 1_000)  # 35 commission back: the merchant is left with 3,860
    top_up_id, _ = world.card_top_up(2_000)
    collection = world.collection(2_500)
    run = kleline.settlement.run(actor=OPERATOR)
    (payout,) = kleline.settlement.run_payouts(run.id)
    assert payout.amount.minor == 3_860
    simulator.receive_file(kleline.settlement.run_file(run.id))
    assert collection.run_id is not None
    simulator.receive_file(kleline.collections.runs.file(collection.run_id))

    issued = simulator.close_statement(bank.iban)
    result = kleline.reconciliation.import_document(issued.xml, actor=OPERATOR)

    lines = result.statements[0].lines or ()
    assert {line.status for line in lines} == {LineStatus.MATCHED}, lines
    assert sorted((line.target, line.object_id) for line in lines if line.target is not None) == sorted(
        [
            (Target.CARD_PAYMENT, payment.id),
            (Target.CARD_REFUND, refund.id),
            (Target.CARD_TOP_UP, top_up_id),
            (Target.COLLECTION, collection.id),
            (Target.PAYOUT, payout.id),
        ]
    )
    assert kleline.settlement.get_payout(payout.id).status == "paid"
    assert kleline.collections.get(collection.id).status is CollectionStatus.COLLECTED
    for cleared in (RECEIVABLE, bank.in_transit_code, SUSPENSE, balance_account(world.merchant)):
        assert balance(kleline, cleared) == 0, cleared
    assert balance(kleline, "kleline:commission") == 140
    assert balance(kleline, purse_code(world.customer)) == 4_500
    # The safeguarding account mirrors the bank: it moved exactly as the statement's balances say.
    opening, closing = issued.statement.opening_balance, issued.statement.closing_balance
    assert opening is not None and closing is not None
    assert balance(kleline, bank.safeguarding_code) == (closing - opening).minor == 140 + 4_500
    assert kleline.reconciliation.import_document(issued.xml, actor=OPERATOR).replayed
    balanced(kleline)
